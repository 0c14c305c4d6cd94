#include "pem_file.h"

#include "crepe/file_io.h"

namespace crepe::rpc {

Result<std::string> ReadPemFile(const std::string& path, const std::string& what) {
  Result<std::string> text = ReadFileBytes(path);
  if (!text.ok()) return Status(text.status().code(), "cannot read the " + what + " " + path);
  if (text->find("-----BEGIN ") == std::string::npos) {
    return InvalidArgumentError("the " + what + " " + path + " is not a PEM file");
  }
  return text;
}

}  // namespace crepe::rpc
