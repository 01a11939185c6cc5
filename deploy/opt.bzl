"""opt_binaries: the given binaries built with -c opt whatever the command
line says, so that the images a test builds are the ones shipped (optimized)
while the tests themselves keep the fast build."""

def _opt_transition_impl(settings, attr):
    return {"//command_line_option:compilation_mode": "opt"}

_opt_transition = transition(
    implementation = _opt_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:compilation_mode"],
)

def _opt_binaries_impl(ctx):
    outputs = []
    for target in ctx.attr.srcs:
        binary = target[DefaultInfo].files_to_run.executable
        out = ctx.actions.declare_file(ctx.label.name + "/" + binary.basename)
        ctx.actions.symlink(output = out, target_file = binary)
        outputs.append(out)
    return [DefaultInfo(files = depset(outputs), runfiles = ctx.runfiles(files = outputs))]

opt_binaries = rule(
    implementation = _opt_binaries_impl,
    attrs = {
        "srcs": attr.label_list(cfg = _opt_transition),
        "_allowlist_function_transition": attr.label(
            default = "@bazel_tools//tools/allowlists/function_transition_allowlist",
        ),
    },
    doc = "Each of srcs (binaries) built -c opt, as NAME/BINARY_BASENAME.",
)
