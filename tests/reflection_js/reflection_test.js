// Checks each Autopack server the way grpcurl does, with a third-party client
// (@grpc/grpc-js + grpc-js-reflection-client): list services through server
// reflection, fetch descriptors by symbol, then call RPCs using only those
// descriptors. Writes JUnit XML to $XML_OUTPUT_FILE for the test count.
// The servers check bearer tokens, so, like `grpcurl -H 'authorization: Bearer
// ...'`, every call but health carries one.
'use strict';

const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const grpc = require('@grpc/grpc-js');
const { GrpcReflection } = require('grpc-js-reflection-client');

const SERVERS = [
  { binary: 'services/builder/builder_server', service: 'autopack.v1.BuilderService' },
  { binary: 'services/auditor/auditor_server', service: 'autopack.v1.AuditorService' },
  { binary: 'services/gitadapter/gitadapter_server', service: 'autopack.v1.GitAdapterService' },
  { binary: 'services/supervisor/supervisor_server', service: 'autopack.v1.SupervisorService' },
];

// Status codes meaning "the server decoded the request and answered it": any
// of these proves the reflected descriptor marshals requests correctly.
const DECODED = new Set([
  grpc.status.OK, grpc.status.INVALID_ARGUMENT, grpc.status.NOT_FOUND,
  grpc.status.FAILED_PRECONDITION, grpc.status.UNIMPLEMENTED,
]);

const TOKEN = crypto.randomBytes(32).toString('base64url');
const CALLERS_FILE = path.join(process.env.TEST_TMPDIR || '/tmp', 'reflection-callers.yaml');
fs.writeFileSync(CALLERS_FILE, [
  'callers:',
  '  - name: reflection-test',
  `    token_sha256: ${crypto.createHash('sha256').update(TOKEN).digest('hex')}`,
  '    rights: [admin, service]',
  '',
].join('\n'));

function withToken() {
  const metadata = new grpc.Metadata();
  metadata.set('authorization', `Bearer ${TOKEN}`);
  return metadata;
}

function serverArgs(binary) {
  const args = ['--listen=127.0.0.1:0', '--shutdown_grace=2s', `--auth_file=${CALLERS_FILE}`];
  if (binary.includes('supervisor')) args.push(`--store=sqlite:${process.env.TEST_TMPDIR || '/tmp'}/reflection.db`);
  return args;
}

function startServer(binary) {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, serverArgs(binary), { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    const timer = setTimeout(() => reject(new Error(`${binary}: no 'listening on' in 30s:\n${log}`)), 30000);
    child.stderr.on('data', (chunk) => {
      log += chunk;
      process.stderr.write(chunk);
      const m = /listening on ([^"\s]+):(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve({ child, address: `127.0.0.1:${m[2]}` });
      }
    });
    child.on('exit', (code) => reject(new Error(`${binary} exited with ${code}:\n${log}`)));
  });
}

function stopServer(child) {
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.on('exit', (code, signal) => resolve({ code, signal }));
    child.kill('SIGTERM');
  });
}

function unary(client, method, request, metadata = new grpc.Metadata()) {
  return new Promise((resolve) => {
    const deadline = new Date(Date.now() + 10000);
    client[method](request, metadata, { deadline }, (err, response) => resolve({ err, response }));
  });
}

function lookup(object, dotted) {
  return dotted.split('.').reduce((o, part) => (o ? o[part] : undefined), object);
}

async function checkServer({ binary, service }, results) {
  const { child, address } = await startServer(binary);
  const record = async (name, fn) => {
    const started = Date.now();
    try {
      await fn();
      results.push({ name: `${service}: ${name}`, ms: Date.now() - started });
    } catch (e) {
      results.push({ name: `${service}: ${name}`, ms: Date.now() - started, failure: String(e.stack || e) });
    }
  };
  try {
    const reflection = new GrpcReflection(address, grpc.credentials.createInsecure());

    await record('reflection without a token is UNAUTHENTICATED', async () => {
      // The client wraps the gRPC error into its own, keeping only the text.
      let answer = 'OK';
      try {
        await reflection.listServices();
      } catch (e) {
        answer = String(e.message);
      }
      if (!answer.includes(`${grpc.status.UNAUTHENTICATED} UNAUTHENTICATED`)) {
        throw new Error(`answered ${answer}`);
      }
    });

    await record('reflection lists the service and grpc.health.v1.Health', async () => {
      const services = await reflection.listServices('*', withToken());
      for (const expected of [service, 'grpc.health.v1.Health']) {
        if (!services.includes(expected)) throw new Error(`${expected} missing from ${JSON.stringify(services)}`);
      }
    });

    await record('reflection lists the methods of the service', async () => {
      const methods = await reflection.listMethods(service, withToken());
      if (methods.length === 0) throw new Error('no methods');
    });

    await record('health Check through the reflected descriptor answers SERVING without a token', async () => {
      const descriptor = await reflection.getDescriptorBySymbol('grpc.health.v1.Health', withToken());
      const Health = lookup(descriptor.getPackageObject({ keepCase: true, enums: String }), 'grpc.health.v1.Health');
      const client = new Health(address, grpc.credentials.createInsecure());
      const { err, response } = await unary(client, 'Check', { service });
      client.close();
      if (err) throw err;
      if (response.status !== 'SERVING') throw new Error(`status ${response.status}`);
    });

    await record('an autopack.v1 RPC called through the reflected descriptor is decoded and answered', async () => {
      const descriptor = await reflection.getDescriptorBySymbol(service, withToken());
      const Service = lookup(descriptor.getPackageObject({ keepCase: true }), service);
      if (!Service) throw new Error(`${service} not in the reflected descriptor`);
      const methods = Object.keys(Service.service);
      const unaryMethod = methods.find((m) => !Service.service[m].responseStream);
      const client = new Service(address, grpc.credentials.createInsecure());
      const { err } = await unary(client, unaryMethod, {}, withToken());
      client.close();
      const code = err ? err.code : grpc.status.OK;
      if (!DECODED.has(code)) throw new Error(`${unaryMethod} answered ${code}: ${err && err.details}`);
    });
  } finally {
    const { code, signal } = await stopServer(child);
    results.push({
      name: `${service}: exits 0 on SIGTERM`,
      ms: 0,
      failure: code === 0 ? undefined : `exit code ${code}, signal ${signal}`,
    });
  }
}

function escapeXml(s) {
  return String(s).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' }[c]));
}

(async () => {
  const results = [];
  for (const server of SERVERS) {
    try {
      await checkServer(server, results);
    } catch (e) {
      results.push({ name: `${server.service}: server starts`, ms: 0, failure: String(e.stack || e) });
    }
  }
  const failed = results.filter((r) => r.failure);
  for (const r of results) console.log(`${r.failure ? 'FAIL' : 'ok  '} ${r.name}${r.failure ? `\n${r.failure}` : ''}`);
  if (process.env.XML_OUTPUT_FILE) {
    const cases = results.map((r) => `    <testcase name="${escapeXml(r.name)}" classname="reflection_js" time="${r.ms / 1000}">` +
      (r.failure ? `<failure message="${escapeXml(r.failure.split('\n')[0])}">${escapeXml(r.failure)}</failure>` : '') +
      '</testcase>').join('\n');
    fs.writeFileSync(process.env.XML_OUTPUT_FILE,
      `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n  <testsuite name="reflection_js" tests="${results.length}" failures="${failed.length}">\n${cases}\n  </testsuite>\n</testsuites>\n`);
  }
  console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
  process.exit(failed.length === 0 ? 0 : 1);
})();
