// Reads the official Keras weight files with the HDF5 C library.
#include <hdf5.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <functional>
#include <mutex>
#include <sstream>
#include <string_view>

#include "crepe/file_io.h"
#include "crepe/weights.h"

namespace crepe {
namespace {

// The serial HDF5 library is not thread-safe: one loader at a time.
std::mutex& Hdf5Mutex() {
  static std::mutex m;
  return m;
}

// Closes an HDF5 handle when it goes out of scope.
class Handle {
 public:
  Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  ~Handle() {
    if (id_ >= 0) close_(id_);
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }

 private:
  hid_t id_;
  herr_t (*close_)(hid_t);
};

std::string ShapeString(const std::vector<int64_t>& shape) {
  std::ostringstream s;
  s << "(";
  for (size_t i = 0; i < shape.size(); ++i) s << (i ? ", " : "") << shape[i];
  s << (shape.size() == 1 ? ",)" : ")");
  return s.str();
}

constexpr hssize_t kMaxWeightNames = 1024;
constexpr size_t kMaxWeightNameBytes = 4096;

// Reads a string-array attribute (fixed-length or variable-length strings).
Result<std::vector<std::string>> ReadStringArrayAttribute(hid_t object, const char* name, const std::string& where) {
  if (H5Aexists(object, name) <= 0) return DataLossError(where + " has no '" + name + "' attribute");
  Handle attr(H5Aopen(object, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) return DataLossError("cannot open attribute '" + std::string(name) + "' of " + where);
  Handle type(H5Aget_type(attr.get()), H5Tclose);
  Handle space(H5Aget_space(attr.get()), H5Sclose);
  const hssize_t count = H5Sget_simple_extent_npoints(space.get());
  std::vector<std::string> out;
  if (count <= 0) return out;
  // A layer lists a handful of weights; a corrupt dataspace can claim any number (and a count
  // times a string size that wraps around would size the buffer below what is read).
  if (count > kMaxWeightNames) {
    return DataLossError(where + " claims " + std::to_string(count) + " weight names (corrupt file?)");
  }
  if (H5Tget_class(type.get()) != H5T_STRING) return out;  // weightless layers store an empty float array
  if (H5Tis_variable_str(type.get()) > 0) {
    std::vector<char*> ptrs(static_cast<size_t>(count), nullptr);
    Handle mem(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mem.get(), H5T_VARIABLE);
    if (H5Aread(attr.get(), mem.get(), ptrs.data()) < 0)
      return DataLossError("cannot read '" + std::string(name) + "' of " + where);
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
    return out;
  }
  const size_t size = H5Tget_size(type.get());
  if (size == 0 || size > kMaxWeightNameBytes) {
    return DataLossError(where + ": '" + std::string(name) + "' has an implausible string size (corrupt file?)");
  }
  std::vector<char> buffer(static_cast<size_t>(count) * size);
  if (H5Aread(attr.get(), type.get(), buffer.data()) < 0) {
    return DataLossError("cannot read '" + std::string(name) + "' of " + where);
  }
  for (hssize_t i = 0; i < count; ++i) {
    const char* s = buffer.data() + i * size;
    out.emplace_back(s, strnlen(s, size));
  }
  return out;
}

class KerasFileReader {
 public:
  KerasFileReader(hid_t file, std::string path) : file_(file), path_(std::move(path)) {}

  // Weight names of a layer group, keyed by their last component ("kernel:0", "gamma:0", ...).
  Result<std::vector<std::string>> WeightNames(const std::string& layer) {
    if (H5Lexists(file_, layer.c_str(), H5P_DEFAULT) <= 0) {
      return DataLossError(path_ + ": layer group '" + layer + "' is missing (is this a CREPE weights file?)");
    }
    Handle group(H5Gopen2(file_, layer.c_str(), H5P_DEFAULT), H5Gclose);
    if (!group.valid()) return DataLossError(path_ + ": cannot open layer group '" + layer + "'");
    return ReadStringArrayAttribute(group.get(), "weight_names", path_ + ": layer '" + layer + "'");
  }

  // Reads the dataset of `layer` whose weight name ends in `/suffix`, checking its shape.
  // `accept` lists the shapes allowed, in order of preference.
  Result<WeightTensor> Read(const std::string& layer, const std::string& suffix,
                            const std::vector<std::vector<int64_t>>& accept) {
    CREPE_ASSIGN_OR_RETURN(std::vector<std::string> names, WeightNames(layer));
    std::string dataset_name;
    for (const auto& n : names) {
      const auto slash = n.rfind('/');
      if ((slash == std::string::npos ? n : n.substr(slash + 1)) == suffix) dataset_name = layer + "/" + n;
    }
    if (dataset_name.empty()) {
      return DataLossError(path_ + ": layer '" + layer + "' lists no weight named '*/" + suffix + "'");
    }
    if (H5Lexists(file_, dataset_name.c_str(), H5P_DEFAULT) <= 0) {
      // An intermediate group may be missing too; H5Lexists only checks the last link.
      return DataLossError(path_ + ": dataset '" + dataset_name + "' listed in weight_names is missing");
    }
    Handle dataset(H5Dopen2(file_, dataset_name.c_str(), H5P_DEFAULT), H5Dclose);
    if (!dataset.valid()) return DataLossError(path_ + ": cannot open dataset '" + dataset_name + "'");
    Handle type(H5Dget_type(dataset.get()), H5Tclose);
    if (H5Tget_class(type.get()) != H5T_FLOAT) {
      return DataLossError(path_ + ": dataset '" + dataset_name + "' is not floating point");
    }
    Handle space(H5Dget_space(dataset.get()), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0 || rank > 8) return DataLossError(path_ + ": dataset '" + dataset_name + "' has an invalid rank");
    hsize_t dims[8] = {};
    H5Sget_simple_extent_dims(space.get(), dims, nullptr);
    WeightTensor t;
    t.shape.assign(dims, dims + rank);
    bool shape_ok = false;
    for (const auto& s : accept) shape_ok = shape_ok || s == t.shape;
    if (!shape_ok) {
      std::string expected;
      for (size_t i = 0; i < accept.size(); ++i) expected += (i ? " or " : "") + ShapeString(accept[i]);
      return FailedPreconditionError(path_ + ": dataset '" + dataset_name + "' has shape " + ShapeString(t.shape) +
                                     ", expected " + expected + " for this capacity");
    }
    size_t count = 1;
    for (int64_t d : t.shape) count *= static_cast<size_t>(d);
    t.data.resize(count);
    if (H5Dread(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, t.data.data()) < 0) {
      return DataLossError(path_ + ": cannot read dataset '" + dataset_name + "' (file truncated or corrupt?)");
    }
    return t;
  }

 private:
  hid_t file_;
  std::string path_;
};

// Opens the bytes of a file as an in-memory HDF5 image (the core driver, no backing file) and runs
// `body` on it, the HDF5 lock held by the caller. Reading from memory, not by path, lets one code
// path serve both files and fuzzing, and hashes the bytes HDF5 actually parsed.
template <typename T>
Result<T> OpenImageAndRead(std::string_view bytes, const std::string& name,
                           const std::function<Result<T>(KerasFileReader&)>& body) {
  // An empty image would make the core driver open `name` from disk instead.
  if (bytes.size() < 8) return DataLossError("weights file '" + name + "' is not a readable HDF5 file (too short)");
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
  if (!fapl.valid() || H5Pset_fapl_core(fapl.get(), 1 << 20, /*backing_store=*/0) < 0 ||
      H5Pset_file_image(fapl.get(), const_cast<char*>(bytes.data()), bytes.size()) < 0) {
    return InternalError("cannot set up HDF5 to read '" + name + "' from memory");
  }
  // HDF5 1.10's core driver refuses an image whose name exists on disk: a name no file has.
  const std::string image_name = "in-memory-image:" + name;
  Handle file(H5Fopen(image_name.c_str(), H5F_ACC_RDONLY, fapl.get()), H5Fclose);
  if (!file.valid()) {
    return DataLossError("weights file '" + name + "' is not a readable HDF5 file (corrupt or truncated?)");
  }
  KerasFileReader reader(file.get(), name);
  return body(reader);
}

// Runs `body` on the file's bytes, with HDF5's own error printing silenced.
template <typename T>
Result<T> WithKerasImage(std::string_view bytes, const std::string& name,
                         const std::function<Result<T>(KerasFileReader&)>& body) {
  std::lock_guard<std::mutex> lock(Hdf5Mutex());
  H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
  try {
    return OpenImageAndRead(bytes, name, body);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory reading weights file '" + name + "'");
  } catch (const std::exception& e) {
    return InternalError("reading weights file '" + name + "': " + e.what());
  }
}

Result<std::string> ReadWeightsFile(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return NotFoundError("weights file '" + path + "' does not exist (run tools/fetch_weights.py, or pass --weights)");
  }
  try {
    return ReadFileBytes(path);
  } catch (const std::bad_alloc&) {
    return ResourceExhaustedError("out of memory reading weights file '" + path + "'");
  }
}

}  // namespace

// Whether a file may reach HDF5 (weights.h, WeightsTrust, says why).
static Status CheckTrusted(const std::string& sha256, const std::string& name, WeightsTrust trust) {
  if (trust == WeightsTrust::kAnyFile || OfficialWeightsCapacity(sha256)) return Status::Ok();
  return FailedPreconditionError(
      "'" + name + "' is not one of the official CREPE weight files (sha256 " + sha256 +
      ", not in assets/models.json): other files are read only with --allow-unofficial-weights, because the "
      "HDF5 library cannot safely parse a file nobody vouches for");
}

Result<CrepeWeights> DecodeKerasWeights(std::string_view bytes, Capacity capacity, const std::string& name,
                                        WeightsTrust trust) {
  const std::string sha256 = Sha256Hex(bytes);
  CREPE_RETURN_IF_ERROR(CheckTrusted(sha256, name, trust));
  const Architecture arch = ArchitectureOf(capacity);
  CREPE_ASSIGN_OR_RETURN(
      CrepeWeights w, WithKerasImage<CrepeWeights>(bytes, name, [&](KerasFileReader& r) -> Result<CrepeWeights> {
        CrepeWeights out;
        out.capacity = capacity;
        out.path = name;
        int in_channels = 1;
        for (int l = 0; l < kNumConvLayers; ++l) {
          const std::string conv = "conv" + std::to_string(l + 1);
          const std::string bn = conv + "-BN";
          const int64_t k = arch.kernel[l], c = arch.filters[l];
          ConvBlockWeights& b = out.conv[l];
          CREPE_ASSIGN_OR_RETURN(b.kernel, r.Read(conv, "kernel:0", {{k, in_channels, c}, {k, 1, in_channels, c}}));
          b.kernel.shape = {k, in_channels, c};  // a 4-D (k, 1, Cin, Cout) kernel has the same memory order
          CREPE_ASSIGN_OR_RETURN(b.bias, r.Read(conv, "bias:0", {{c}}));
          CREPE_ASSIGN_OR_RETURN(b.gamma, r.Read(bn, "gamma:0", {{c}}));
          CREPE_ASSIGN_OR_RETURN(b.beta, r.Read(bn, "beta:0", {{c}}));
          CREPE_ASSIGN_OR_RETURN(b.moving_mean, r.Read(bn, "moving_mean:0", {{c}}));
          CREPE_ASSIGN_OR_RETURN(b.moving_variance, r.Read(bn, "moving_variance:0", {{c}}));
          in_channels = static_cast<int>(c);
        }
        CREPE_ASSIGN_OR_RETURN(out.dense_kernel, r.Read("classifier", "kernel:0", {{arch.dense_inputs, kPitchBins}}));
        CREPE_ASSIGN_OR_RETURN(out.dense_bias, r.Read("classifier", "bias:0", {{kPitchBins}}));
        return out;
      }));
  // A file whose contents are not numbers at all cannot be a trained model.
  for (const auto& block : w.conv) {
    for (float v : block.moving_variance.data) {
      if (!(v >= 0) || !std::isfinite(v)) {
        return DataLossError(name + ": BatchNorm moving_variance holds a negative or non-finite value");
      }
    }
  }
  w.sha256 = sha256;
  return w;
}

Result<CrepeWeights> LoadKerasWeights(const std::string& path, Capacity capacity, WeightsTrust trust) {
  CREPE_ASSIGN_OR_RETURN(const std::string bytes, ReadWeightsFile(path));
  return DecodeKerasWeights(bytes, capacity, path, trust);
}

Result<Capacity> DetectKerasCapacity(std::string_view bytes, const std::string& name, WeightsTrust trust) {
  const std::string sha256 = Sha256Hex(bytes);
  if (std::optional<Capacity> official = OfficialWeightsCapacity(sha256)) return *official;
  CREPE_RETURN_IF_ERROR(CheckTrusted(sha256, name, trust));
  return WithKerasImage<Capacity>(bytes, name, [&](KerasFileReader& r) -> Result<Capacity> {
    for (Capacity c : kAllCapacities) {
      const int64_t filters = ArchitectureOf(c).filters[0];
      if (r.Read("conv1", "bias:0", {{filters}}).ok()) return c;
    }
    return FailedPreconditionError(name + ": conv1 has no width CREPE uses (128, 256, 512, 768 or 1024 filters)");
  });
}

Result<Capacity> DetectCapacity(const std::string& path, WeightsTrust trust) {
  CREPE_ASSIGN_OR_RETURN(const std::string bytes, ReadWeightsFile(path));
  return DetectKerasCapacity(bytes, path, trust);
}

}  // namespace crepe
