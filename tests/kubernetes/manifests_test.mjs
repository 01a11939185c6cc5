// deploy/kubernetes, checked offline (no cluster can run here):
//  1. strict validation: every object against the Kubernetes API models
//     (kubernetes-models: types, required fields, enums) and round-tripped
//     through @kubernetes/client-node, which drops fields the API does not
//     know, so a misspelled key is an error (kubeconform-style);
//  2. against what the project ships: every image has a recipe in deploy/,
//     every flag is one the real binary lists in --help, every port one a
//     flag listens on, every /etc/autopack file is in config/ (the ConfigMap
//     is made from it), every /run/secrets file comes from make-secrets.sh,
//     every volume, ConfigMap, Secret and claim named exists, every probe is
//     the image's own HEALTHCHECK aimed at the port the server listens on.
// Run from the runfiles root with SECRETS_DIR made by make-secrets.sh.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { isDeepStrictEqual } from "node:util";
import * as k8s from "@kubernetes/client-node";
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import YAML from "yaml";

const failures = [];
const fail = (where, why) => failures.push(`${where}: ${why}`);

// The objects an operator applies: the manifests, plus the ConfigMap and
// Secrets the README makes with kubectl from config/ and the secrets directory.
const objects = [];
for (const file of fs.readdirSync("deploy/kubernetes").filter((f) => f.endsWith(".yaml")).sort()) {
  const text = fs.readFileSync(path.join("deploy/kubernetes", file), "utf8");
  const docs = YAML.parseAllDocuments(text);
  const roundTrip = k8s.loadAllYaml(text);
  docs.forEach((doc, i) => {
    if (doc.errors.length) fail(file, doc.errors.join("; "));
    const obj = doc.toJSON();
    objects.push({ file, obj });
    const dumped = YAML.parse(k8s.dumpYaml(roundTrip[i]));
    if (!isDeepStrictEqual(JSON.parse(JSON.stringify(obj)), JSON.parse(JSON.stringify(dumped)))) {
      fail(`${file} ${obj.kind}/${obj.metadata?.name}`, "has fields the Kubernetes API does not know (or of the wrong shape): " +
        diffKeys(obj, dumped).join(", "));
    }
  });
}
function diffKeys(a, b, prefix = "") {
  if (typeof a !== "object" || a === null) return isDeepStrictEqual(a, b) ? [] : [prefix || "(root)"];
  const out = [];
  for (const key of Object.keys(a)) {
    if (b === null || typeof b !== "object" || !(key in b)) out.push(`${prefix}${key}`);
    else out.push(...diffKeys(a[key], b[key], `${prefix}${key}.`));
  }
  return out;
}
const configFiles = fs.readdirSync("config").filter((f) => f.endsWith(".yaml"));
const configMap = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "autopack-config" },
  data: Object.fromEntries(configFiles.map((f) => [f, fs.readFileSync(path.join("config", f), "utf8")])) };
const secretsDir = process.env.SECRETS_DIR;
const secretFiles = fs.readdirSync(secretsDir).filter((f) => f !== "provider_keys.env" && f !== "ca.key" && !f.endsWith(".srl"));
const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "autopack-secrets" },
  data: Object.fromEntries(secretFiles.map((f) => [f, fs.readFileSync(path.join(secretsDir, f)).toString("base64")])) };
const providerKeys = { apiVersion: "v1", kind: "Secret", metadata: { name: "autopack-provider-keys" },
  data: Object.fromEntries(fs.readFileSync(path.join(secretsDir, "provider_keys.env"), "utf8").trim().split("\n")
    .map((l) => [l.slice(0, l.indexOf("=")), Buffer.from(l.slice(l.indexOf("=") + 1)).toString("base64")])) };
for (const obj of [configMap, secret, providerKeys]) objects.push({ file: "(kubectl create)", obj });

const models = { "v1/Service": core.Service, "v1/ConfigMap": core.ConfigMap, "v1/Secret": core.Secret,
  "v1/PersistentVolumeClaim": core.PersistentVolumeClaim, "apps/v1/Deployment": apps.Deployment,
  "apps/v1/StatefulSet": apps.StatefulSet };
for (const { file, obj } of objects) {
  const Model = models[`${obj.apiVersion}/${obj.kind}`];
  if (!Model) { fail(file, `unexpected kind ${obj.apiVersion}/${obj.kind}`); continue; }
  try { new Model(obj).validate(); } catch (e) { fail(`${file} ${obj.kind}/${obj.metadata?.name}`, e.message); }
}
const named = (kind, name) => objects.some(({ obj }) => obj.kind === kind && obj.metadata?.name === name);

// What a binary accepts, from its own --help (absl prints "--name (help)").
const helpCache = {};
function flagsOf(binary) {
  if (!helpCache[binary]) {
    let text;
    try { text = execFileSync(binary, ["--help"], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }); }
    catch (e) { text = `${e.stdout ?? ""}${e.stderr ?? ""}`; }  // absl exits 1 after --help
    helpCache[binary] = { text, flags: new Set([...text.matchAll(/^\s+--([a-z0-9_]+) \(/gm)].map((m) => m[1])) };
    if (helpCache[binary].flags.size === 0) fail(binary, `--help listed no flags:\n${text}`);
  }
  return helpCache[binary];
}
// ENTRYPOINT, EXPOSE and HEALTHCHECK of deploy/NAME/Containerfile.
function recipe(name) {
  const file = `deploy/${name}/Containerfile`;
  if (!fs.existsSync(file)) return null;
  const text = fs.readFileSync(file, "utf8");
  const json = (re) => { const m = text.match(re); return m ? JSON.parse(m[1]) : null; };
  return { entrypoint: json(/^ENTRYPOINT (\[.*\])$/m), healthcheck: json(/^HEALTHCHECK .*CMD (\[.*\])$/m),
    expose: [...text.matchAll(/^EXPOSE (\d+)$/gm)].map((m) => Number(m[1])) };
}
const portOf = (value) => Number(String(value).slice(String(value).lastIndexOf(":") + 1));

let containersChecked = 0;
for (const { file, obj } of objects) {
  if (obj.kind !== "Deployment" && obj.kind !== "StatefulSet") continue;
  const pod = obj.spec.template.spec;
  const labels = obj.spec.template.metadata.labels;
  for (const [k, v] of Object.entries(obj.spec.selector.matchLabels)) {
    if (labels[k] !== v) fail(`${file} ${obj.metadata.name}`, `selector ${k}=${v} does not match the pod labels`);
  }
  const volumes = new Map((pod.volumes ?? []).map((v) => [v.name, v]));
  const claimTemplates = new Set((obj.spec.volumeClaimTemplates ?? []).map((t) => t.metadata.name));
  for (const v of volumes.values()) {
    if (v.configMap && !named("ConfigMap", v.configMap.name)) fail(file, `volume ${v.name}: no ConfigMap ${v.configMap.name}`);
    if (v.secret && !named("Secret", v.secret.secretName)) fail(file, `volume ${v.name}: no Secret ${v.secret.secretName}`);
    if (v.persistentVolumeClaim && !named("PersistentVolumeClaim", v.persistentVolumeClaim.claimName)) {
      fail(file, `volume ${v.name}: no PersistentVolumeClaim ${v.persistentVolumeClaim.claimName}`);
    }
    for (const item of v.secret?.items ?? []) {
      const data = objects.find(({ obj: o }) => o.kind === "Secret" && o.metadata.name === v.secret.secretName)?.obj.data ?? {};
      if (!(item.key in data)) fail(file, `volume ${v.name}: make-secrets.sh makes no ${item.key}`);
    }
  }
  for (const c of pod.containers) {
    const where = `${file} ${obj.metadata.name}/${c.name}`;
    containersChecked++;
    const image = String(c.image ?? "").match(/^localhost\/autopack-([a-z_]+):dev$/);
    const r = image && recipe(image[1]);
    if (!r) { fail(where, `image ${c.image} is not one deploy/podman.sh builds`); continue; }
    // What the mounts provide, by path.
    const provided = new Map();
    for (const m of c.volumeMounts ?? []) {
      const v = volumes.get(m.name);
      if (!v && !claimTemplates.has(m.name)) { fail(where, `mount ${m.name} names no volume`); continue; }
      let files = null;
      if (v?.configMap) files = configFiles;
      if (v?.secret) files = v.secret.items ? v.secret.items.map((i) => i.path) : secretFiles;
      provided.set(m.mountPath, files);
    }
    const checkPath = (p, what) => {
      for (const [mount, files] of provided) {
        if (p === mount) return;
        if (p.startsWith(mount + "/")) {
          if (files && !files.includes(path.relative(mount, p))) fail(where, `${what} ${p}: not in the volume at ${mount}`);
          return;
        }
      }
      if (p.startsWith("/etc/autopack/") || p.startsWith("/run/secrets/")) fail(where, `${what} ${p}: nothing mounted there`);
    };
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    for (const e of c.env ?? []) {
      const ref = e.valueFrom?.secretKeyRef;
      if (ref && !(objects.find(({ obj: o }) => o.kind === "Secret" && o.metadata.name === ref.name)?.obj.data ?? {})[ref.key]) {
        fail(where, `env ${e.name}: no key ${ref.key} in Secret ${ref.name}`);
      }
      if (typeof e.value === "string" && e.value.startsWith("/")) checkPath(e.value, `env ${e.name}`);
    }
    const ports = new Map((c.ports ?? []).map((p) => [p.name, p.containerPort]));
    if (r.entrypoint[0] === "/usr/local/bin/postgres-entrypoint") {
      if (![...ports.values()].every((p) => r.expose.includes(p))) fail(where, `ports ${[...ports.values()]} not EXPOSEd`);
    } else {
      const binary = `deploy/opt/${path.basename(r.entrypoint[0])}`;
      const { flags } = flagsOf(binary);
      const args = [...r.entrypoint.slice(1), ...(c.args ?? [])];
      const listened = new Set();
      for (const arg of args) {
        const m = arg.match(/^--([a-z0-9_]+)(?:=(.*))?$/);
        if (!m) { fail(where, `argument ${arg} is not --flag=value`); continue; }
        if (!flags.has(m[1])) fail(where, `${path.basename(binary)} has no flag --${m[1]}`);
        if (m[1] === "listen" || m[1] === "metrics_listen") listened.add(portOf(m[2]));
        if (m[2]?.startsWith("/")) checkPath(m[2], `--${m[1]}`);
      }
      for (const [name, port] of ports) if (!listened.has(port)) fail(where, `port ${name} (${port}) is no --listen/--metrics_listen`);
      const grpcPort = portOf(args.find((a) => a.startsWith("--listen=")) ?? "");
      if (!r.expose.includes(grpcPort)) fail(where, `--listen port ${grpcPort} is not the image's EXPOSE ${r.expose}`);
      // The probe: the image's HEALTHCHECK, told where by the environment.
      const probe = flagsOf(`deploy/opt/${path.basename(r.healthcheck[0])}`);
      for (const name of Object.keys(env).filter((n) => n.startsWith("AUTOPACK_PROBE_"))) {
        if (!probe.text.replace(/\s+/g, " ").includes(`env ${name}`)) fail(where, `health_probe reads no ${name}`);
      }
      if (portOf(env.AUTOPACK_PROBE_ADDRESS ?? "") !== grpcPort) fail(where, `AUTOPACK_PROBE_ADDRESS is not the --listen port ${grpcPort}`);
    }
    for (const kind of ["readinessProbe", "livenessProbe"]) {
      if (!isDeepStrictEqual(c[kind]?.exec?.command, r.healthcheck)) fail(where, `${kind} is not the image's HEALTHCHECK ${JSON.stringify(r.healthcheck)}`);
    }
    if (!c.resources?.requests || !c.resources?.limits) fail(where, "no resource requests and limits");
    const sc = { ...pod.securityContext, ...c.securityContext };
    if (sc.runAsNonRoot !== true || !(sc.runAsUser > 0) || sc.allowPrivilegeEscalation !== false) {
      fail(where, "not a non-root security context without privilege escalation");
    }
  }
}
for (const { file, obj } of objects) {
  if (obj.kind !== "Service") continue;
  const pods = objects.filter(({ obj: o }) => (o.kind === "Deployment" || o.kind === "StatefulSet") &&
    Object.entries(obj.spec.selector).every(([k, v]) => o.spec.template.metadata.labels[k] === v));
  if (pods.length !== 1) { fail(`${file} Service/${obj.metadata.name}`, `selects ${pods.length} workloads`); continue; }
  const names = new Set(pods[0].obj.spec.template.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)));
  for (const p of obj.spec.ports) if (!names.has(p.targetPort)) fail(`${file} Service/${obj.metadata.name}`, `targetPort ${p.targetPort} is no container port`);
}
// Every address the Supervisor is given is a Service with that port.
const supervisor = objects.find(({ obj }) => obj.kind === "Deployment" && obj.metadata.name === "supervisor")?.obj;
for (const arg of supervisor?.spec.template.spec.containers[0].args ?? []) {
  const m = arg.match(/^--(builder|auditor|gitadapter)=([a-z-]+):(\d+)$/) ?? arg.match(/^--(store)=postgresql:\/\/[^@]+@([a-z-]+):(\d+)\//);
  if (!m) continue;
  const svc = objects.find(({ obj }) => obj.kind === "Service" && obj.metadata.name === m[2])?.obj;
  if (!svc || !svc.spec.ports.some((p) => p.port === Number(m[3]))) fail("supervisor.yaml", `--${m[1]}: no Service ${m[2]}:${m[3]}`);
}
if (supervisor?.spec.replicas !== 2) fail("supervisor.yaml", "the Supervisor should run 2 replicas");

if (failures.length) {
  console.error(`${failures.length} problem(s) in deploy/kubernetes:\n  ${failures.join("\n  ")}`);
  process.exit(1);
}
console.log(`deploy/kubernetes: ${objects.length} objects valid, ${containersChecked} containers match the images and binaries`);
