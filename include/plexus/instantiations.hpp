// The float and double instantiations that compiled mode (core/compiled.hpp)
// compiles once, in the library: with PLEXUS_COMPILED_LIB each entry is an
// explicit instantiation declaration (extern template), in the library's
// source for its scalar an explicit instantiation definition, in
// header-only mode nothing.
// Included at the end of <plexus/plexus.hpp>; a file that includes only
// fine-grained headers compiles what it uses, as in header-only mode.
#pragma once

#include "plexus.hpp"

// PLEXUS_DETAIL_FLOAT and PLEXUS_DETAIL_DOUBLE (core/compiled.hpp) write
// each entry for the library's source that owns its scalar.
#define PLEXUS_INSTANTIATE_CLASS(C) PLEXUS_DETAIL_FLOAT(class C<float>) PLEXUS_DETAIL_DOUBLE(class C<double>)
#define PLEXUS_INSTANTIATE_FUNCTIONS(T, PLEXUS_INSTANTIATE)                                                     \
  PLEXUS_INSTANTIATE(double train_step<T>(Network<T>&, const Loss<T>&, Optimizer<T>&, const ConstMatrixRef<T>&, \
                                          const ConstMatrixRef<T>&, StepOptions))                               \
  PLEXUS_INSTANTIATE(FitHistory fit<T>(Network<T>&, const Loss<T>&, Optimizer<T>&, const ConstMatrixRef<T>&,    \
                                       const ConstMatrixRef<T>&, const FitOptions&,                             \
                                       const std::vector<FitCallback<T>>&))                                     \
  PLEXUS_INSTANTIATE(std::unique_ptr<Layer<T>> make_layer<T>(const LayerSpec&))                                 \
  PLEXUS_INSTANTIATE(Network<T> network_from_spec<T>(const LayerSpec&, Index, Index))                           \
  PLEXUS_INSTANTIATE(                                                                                           \
      void save_model<T>(const Network<T>&, const std::string&, const std::map<std::string, std::string>&))     \
  PLEXUS_INSTANTIATE(Network<T> load_model<T>(const std::string&, std::map<std::string, std::string>*))         \
  PLEXUS_INSTANTIATE(void export_onnx<T>(const Network<T>&, const std::string&, const OnnxExportOptions&))      \
  PLEXUS_INSTANTIATE(Network<T> import_onnx<T>(const std::string&, std::size_t))

namespace plexus {

PLEXUS_INSTANTIATE_CLASS(Layer)
PLEXUS_INSTANTIATE_CLASS(Dense)
PLEXUS_INSTANTIATE_CLASS(ActivationLayer)
PLEXUS_INSTANTIATE_CLASS(GLU)
PLEXUS_INSTANTIATE_CLASS(Sequential)
PLEXUS_INSTANTIATE_CLASS(Concat)
PLEXUS_INSTANTIATE_CLASS(Residual)
PLEXUS_INSTANTIATE_CLASS(Dropout)
PLEXUS_INSTANTIATE_CLASS(LayerNorm)
PLEXUS_INSTANTIATE_CLASS(BatchNorm)
PLEXUS_INSTANTIATE_CLASS(Softmax)
PLEXUS_INSTANTIATE_CLASS(Standardize)
PLEXUS_INSTANTIATE_CLASS(Network)
PLEXUS_INSTANTIATE_CLASS(RowPlan)
PLEXUS_INSTANTIATE_CLASS(RowPlanBuilder)
PLEXUS_INSTANTIATE_CLASS(HalfPredictor)
PLEXUS_INSTANTIATE_CLASS(Int8Predictor)
PLEXUS_INSTANTIATE_CLASS(Optimizer)
PLEXUS_INSTANTIATE_CLASS(AdamBase)
PLEXUS_INSTANTIATE_CLASS(Adam)
PLEXUS_INSTANTIATE_CLASS(AdamW)
PLEXUS_INSTANTIATE_CLASS(SGD)
PLEXUS_INSTANTIATE_CLASS(RMSprop)
PLEXUS_INSTANTIATE_CLASS(Loss)
PLEXUS_INSTANTIATE_CLASS(MSE)
PLEXUS_INSTANTIATE_CLASS(MAE)
PLEXUS_INSTANTIATE_CLASS(Huber)
PLEXUS_INSTANTIATE_CLASS(SoftmaxCrossEntropy)
PLEXUS_INSTANTIATE_CLASS(BinaryCrossEntropy)
PLEXUS_INSTANTIATE_CLASS(OnlineTrainer)
PLEXUS_INSTANTIATE_FUNCTIONS(float, PLEXUS_DETAIL_FLOAT)
PLEXUS_INSTANTIATE_FUNCTIONS(double, PLEXUS_DETAIL_DOUBLE)

namespace detail {
PLEXUS_DETAIL_FLOAT(struct BuiltinKinds<void>)
PLEXUS_DETAIL_FLOAT(void register_kinds_once<BuiltinKinds<void>>())
}  // namespace detail

}  // namespace plexus

#undef PLEXUS_INSTANTIATE_FUNCTIONS
#undef PLEXUS_INSTANTIATE_CLASS
