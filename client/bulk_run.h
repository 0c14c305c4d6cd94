// crepe-client predict: a whole dataset through one or more servers, many requests in flight,
// resumable, with every input's outputs written atomically together with its sidecar.
//
// Threads, whatever --max-in-flight is: the main thread checks which inputs are done, starts
// the first --max-in-flight and then only redraws the progress line; a ThreadPool of at most 4
// reads files, decodes audio, handles finished calls and writes outputs (each finished input
// starts the next); a DelayQueue thread holds retries until they are due; gRPC's own threads
// run the calls and only post their outcome to the workers (remote_predict.h, remote_call.h).
#pragma once

#include <grpcpp/security/credentials.h>

#include <memory>
#include <string>
#include <vector>

#include "analysis_options.h"
#include "crepe/input_files.h"
#include "input_list.h"
#include "retry_policy.h"

namespace crepe::client {

struct BulkOptions {
  std::vector<std::string> servers;
  std::shared_ptr<grpc::ChannelCredentials> credentials = grpc::InsecureChannelCredentials();
  std::string output_dir;
  cli::AnalysisOptions analysis;
  RequestPolicy policy;
  int max_in_flight = 16;
  bool overwrite = false;  // redo inputs whose sidecar says they are done
  bool quiet = false;
  std::string failed_list;  // where failed inputs are listed
  // Whether failed_list was asked for: then it is written even when empty. The default one is
  // written only when something failed (and a stale one from an earlier run is removed).
  bool failed_list_explicit = false;
};

// Processes `inputs` (outputs under options.output_dir by their relative stems). `listing_errors`
// (inputs that could not be listed) count as failures. Returns the exit status: 0 when every
// input succeeded or was already done, 1 otherwise.
int RunBulk(const BulkOptions& options, const std::vector<InputFile>& inputs,
            const std::vector<ListingError>& listing_errors);

}  // namespace crepe::client
