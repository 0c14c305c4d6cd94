#include "pem_file.h"

#include <fstream>
#include <sstream>

namespace crepe::rpc {

Result<std::string> ReadPemFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot read the " + what + " " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return InvalidArgumentError("the " + what + " " + path + " is not a PEM file");
  }
  return text.str();
}

}  // namespace crepe::rpc
