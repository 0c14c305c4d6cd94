#include "crepe/torchcrepe_export.h"

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/serialization/pickler.h>
#include <torch/csrc/jit/serialization/pickler_helper.h>
#include <torch/torch.h>

#include "crepe/file_io.h"

namespace crepe {
namespace {

torch::Tensor ToTensor(const WeightTensor& w) {
  return torch::from_blob(const_cast<float*>(w.data.data()), w.shape, torch::kFloat32).clone();
}

// What Python's torch.save writes: a zip of data.pkl (the dict, tensors by reference), byteorder and
// one record per tensor storage. Not torch::pickle_save, whose dict carries a TorchScript type tag
// (torch.jit._pickle.restore_type_tag) that torch.load refuses under weights_only, its default
// since PyTorch 2.6 and how torchcrepe loads its weights.
std::string SaveLikeTorchSave(const c10::IValue& value) {
  std::string pickle;
  torch::jit::Pickler pickler([&](const char* data, size_t size) { pickle.append(data, size); },
                              /*tensor_table=*/nullptr, /*type_renamer=*/nullptr, /*memoized_class_types=*/nullptr,
                              /*get_tensor_id=*/nullptr, /*tag_aggregates=*/false);
  pickler.protocol();
  pickler.pushIValue(value);
  pickler.stop();
  std::string archive;
  caffe2::serialize::PyTorchStreamWriter writer([&](const void* data, size_t size) {
    archive.append(static_cast<const char*>(data), size);
    return size;
  });
  writer.writeRecord("data.pkl", pickle.data(), pickle.size());
  const std::string byteorder = "little";
  writer.writeRecord("byteorder", byteorder.data(), byteorder.size());
  const std::vector<at::Tensor>& tensors = pickler.tensorData();
  for (size_t i = 0; i < tensors.size(); ++i) {  // the pickle names storage i "i"
    const torch::jit::WriteableTensorData data = torch::jit::getWriteableTensorData(tensors[i]);
    writer.writeRecord("data/" + std::to_string(i), data.data(), data.sizeInBytes());
  }
  writer.writeEndOfFile();
  return archive;
}

}  // namespace

Result<std::string> EncodeTorchcrepeStateDict(const CrepeWeights& weights) {
  try {
    c10::Dict<std::string, torch::Tensor> state;
    // torchcrepe registers conv1, conv1_BN, ..., conv6, conv6_BN, classifier: its state_dict order.
    for (int l = 0; l < kNumConvLayers; ++l) {
      const ConvBlockWeights& w = weights.conv[l];
      const std::string conv = "conv" + std::to_string(l + 1);
      const std::string bn = conv + "_BN";
      // Keras (k, Cin, Cout) -> torch Conv2d (Cout, Cin, k, 1): torchcrepe convolves along height.
      state.insert(conv + ".weight", ToTensor(w.kernel).permute({2, 1, 0}).unsqueeze(3).contiguous());
      state.insert(conv + ".bias", ToTensor(w.bias));
      state.insert(bn + ".weight", ToTensor(w.gamma));
      state.insert(bn + ".bias", ToTensor(w.beta));
      state.insert(bn + ".running_mean", ToTensor(w.moving_mean));
      state.insert(bn + ".running_var", ToTensor(w.moving_variance));
      state.insert(bn + ".num_batches_tracked", torch::zeros({}, torch::kInt64));
    }
    // Keras flattens (time 4, C6) time-major, as torchcrepe's permute + reshape does: only a transpose.
    state.insert("classifier.weight", ToTensor(weights.dense_kernel).t().contiguous());
    state.insert("classifier.bias", ToTensor(weights.dense_bias));
    return SaveLikeTorchSave(c10::IValue(state));
  } catch (const std::exception& e) {
    return InternalError("encoding the torchcrepe state dict of " + weights.path + ": " + e.what());
  }
}

Status WriteTorchcrepeStateDict(const CrepeWeights& weights, const std::string& path) {
  CREPE_ASSIGN_OR_RETURN(std::string bytes, EncodeTorchcrepeStateDict(weights));
  return WriteFileAtomically(path, bytes);
}

}  // namespace crepe
