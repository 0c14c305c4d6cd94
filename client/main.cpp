// crepe-client: sends audio datasets to crepe-server (bulk, resumable) and asks servers how they
// are. Thin: options here; the work is in bulk_run, remote_predict and service_commands.
#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "analysis_options.h"
#include "bulk_run.h"
#include "channel.h"
#include "input_list.h"
#include "service_commands.h"

namespace crepe::client {
namespace {

constexpr int kUsageError = 2;

struct PredictArgs {
  std::vector<std::string> inputs;
  std::vector<std::string> manifests;
  std::string shard;
  BulkOptions bulk;
  double max_message_mb = 64;
};

// --server and how to reach it: plain text, or TLS with an optional client certificate and token.
void AddServerOptions(CLI::App& command, std::vector<std::string>& servers, ChannelSecurity& security) {
  command.add_option("--server", servers, "Server address HOST:PORT (repeat, or separate with commas)")
      ->required()
      ->delimiter(',');
  command.add_flag("--tls", security.tls, "Connect with TLS, trusting the system's CAs (or --ca)")->group("Security");
  command.add_option("--ca", security.ca_file, "TLS: trust this CA certificate (PEM); implies --tls")
      ->envname("CREPE_CLIENT_CA")
      ->group("Security");
  command.add_option("--cert", security.cert_file, "TLS: client certificate (PEM), for servers that require one")
      ->envname("CREPE_CLIENT_CERT")
      ->group("Security");
  command.add_option("--key", security.key_file, "TLS: the client certificate's key (PEM)")
      ->envname("CREPE_CLIENT_KEY")
      ->group("Security");
  command
      .add_option("--token-file", security.token_file,
                  "Send 'authorization: Bearer <token>' with the file's first token; needs TLS")
      ->envname("CREPE_CLIENT_TOKEN_FILE")
      ->group("Security");
}

void AddPredictOptions(CLI::App& predict, PredictArgs& a, cli::AnalysisFlags& analysis, ChannelSecurity& security) {
  AddServerOptions(predict, a.bulk.servers, security);
  predict.add_option("inputs", a.inputs,
                     "Audio files, directories (searched recursively) or glob patterns (quoted, expanded here)");
  predict.add_option("--manifest", a.manifests,
                     "File listing inputs, one per line ('#' starts a comment); relative paths are mirrored "
                     "under the output folder, and a '/./' in a path marks where its output name starts");
  predict.add_option("-o,--output-dir", a.bulk.output_dir, "Output folder, mirroring the input tree")->required();
  analysis.AddTo(predict);
  predict.add_option("--max-in-flight", a.bulk.max_in_flight, "Requests under way at once, over all servers")
      ->capture_default_str()
      ->check(CLI::Range(1, 4096));
  predict
      .add_option("--retries", a.bulk.policy.retries,
                  "Further attempts after UNAVAILABLE (on another server, or once it is back), a busy server "
                  "or a failed batch (after an exponential back-off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 1000));
  predict.add_option("--timeout-s", a.bulk.policy.timeout_s, "Deadline of each request, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  predict
      .add_option("--max-message-mb", a.max_message_mb,
                  "The servers' message limit: larger files are decoded here and streamed")
      ->capture_default_str()
      ->check(CLI::Range(1.0, 2047.0));
  predict.add_flag("--overwrite", a.bulk.overwrite, "Redo inputs whose outputs are already complete");
  predict.add_option("--failed-list", a.bulk.failed_list,
                     "Where to list the inputs that failed, one per line, for --manifest (default "
                     "<output-dir>/failed.txt, written only when something failed)");
  predict.add_option("--shard", a.shard, "I/N: take only the sorted inputs whose index modulo N is I");
  predict.add_flag("-q,--quiet", a.bulk.quiet, "No progress line or summary (errors are still reported)");
}

int RunPredict(PredictArgs& a) {
  std::vector<std::string> manifest_entries;
  for (const std::string& m : a.manifests) {
    auto entries = ReadManifest(m);
    if (!entries.ok()) {
      std::fprintf(stderr, "crepe-client: error: %s\n", entries.status().message().c_str());
      return kUsageError;
    }
    manifest_entries.insert(manifest_entries.end(), entries->begin(), entries->end());
  }
  Shard shard;
  if (!a.shard.empty()) {
    auto parsed = ParseShard(a.shard);
    if (!parsed.ok()) {
      std::fprintf(stderr, "crepe-client: error: %s\n", parsed.status().message().c_str());
      return kUsageError;
    }
    shard = *parsed;
  }
  InputList listed = ListInputs(a.inputs, manifest_entries);
  if (listed.files.empty() && listed.errors.empty()) {
    std::fprintf(stderr, "crepe-client: error: no audio files found in the given inputs\n");
    return 1;
  }
  // Checked over all inputs, so that every shard of a job refuses the same collisions.
  if (Status s = CheckDistinctOutputs(listed.files, a.bulk.output_dir); !s.ok()) {
    std::fprintf(stderr, "crepe-client: error: %s\n", s.message().c_str());
    return kUsageError;
  }
  std::vector<InputFile> files = TakeShard(listed.files, shard);
  a.bulk.policy.max_message_bytes = static_cast<int64_t>(a.max_message_mb * (1 << 20));
  a.bulk.failed_list_explicit = !a.bulk.failed_list.empty();
  if (!a.bulk.failed_list_explicit) {
    // Shards of one job may share the output folder; each keeps its own list.
    const std::string name = shard.count == 1 ? "failed.txt"
                                              : "failed-shard-" + std::to_string(shard.index) + "-of-" +
                                                    std::to_string(shard.count) + ".txt";
    a.bulk.failed_list = (std::filesystem::path(a.bulk.output_dir) / name).string();
  }
  return RunBulk(a.bulk, files, listed.errors);
}

int Run(int argc, char** argv) {
  CLI::App app{"crepe-client: pitch estimation of whole datasets on crepe-server, and server status"};
  app.require_subcommand(1);

  PredictArgs predict_args;
  cli::AnalysisFlags analysis;
  ChannelSecurity security;  // one subcommand runs: they share it
  CLI::App* predict = app.add_subcommand(
      "predict",
      "Estimate pitch for many files through one or more servers; writes crepe-predict's outputs plus a "
      "<name>.crepe.json sidecar per input, and skips inputs already done");
  AddPredictOptions(*predict, predict_args, analysis, security);
  predict->callback([&] {
    if (predict_args.inputs.empty() && predict_args.manifests.empty()) {
      throw CLI::ValidationError("give at least one INPUT, or --manifest");
    }
    predict_args.bulk.analysis = analysis.Apply();
  });

  std::vector<std::string> health_servers;
  std::string health_service;
  double health_timeout_s = 10;
  CLI::App* health = app.add_subcommand("health", "Ask servers whether they are SERVING (exit 0 only if all are)");
  AddServerOptions(*health, health_servers, security);
  health->add_option("--service", health_service, "Health service name (default: the whole server)");
  health->add_option("--timeout-s", health_timeout_s, "Deadline, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  std::vector<std::string> models_servers;
  double models_timeout_s = 10;
  CLI::App* models = app.add_subcommand("models", "List the models servers hold and their state");
  AddServerOptions(*models, models_servers, security);
  models->add_option("--timeout-s", models_timeout_s, "Deadline, seconds")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kUsageError;  // usage errors exit 2, like other Unix tools
  }
  auto credentials = MakeChannelCredentials(security);
  if (!credentials.ok()) {
    std::fprintf(stderr, "crepe-client: error: %s\n", credentials.status().message().c_str());
    return kUsageError;
  }
  if (*predict) {
    predict_args.bulk.credentials = *credentials;
    return RunPredict(predict_args);
  }
  if (*health) return RunHealth(health_servers, *credentials, health_service, health_timeout_s);
  return RunModels(models_servers, *credentials, models_timeout_s);
}

}  // namespace
}  // namespace crepe::client

int main(int argc, char** argv) { return crepe::client::Run(argc, argv); }
