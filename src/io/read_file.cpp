#include <fstream>
#include <sstream>

#include "crepe/file_io.h"

namespace crepe {

Result<std::string> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return NotFoundError("cannot open '" + path + "'");
  std::ostringstream bytes;
  bytes << in.rdbuf();
  if (in.bad()) return DataLossError("error reading '" + path + "'");
  return std::move(bytes).str();
}

}  // namespace crepe
