// PEM files (certificates, keys) as both sides read them for TLS.
#pragma once

#include <string>

#include "crepe/status.h"

namespace crepe::rpc {

// The file's text; NotFound when it cannot be read, InvalidArgument when it holds no PEM block.
// `what` names it in errors ("TLS certificate (--tls-cert)").
Result<std::string> ReadPemFile(const std::string& path, const std::string& what);

}  // namespace crepe::rpc
