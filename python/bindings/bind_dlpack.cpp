// DLPack, both ways (docs/choices.md, "DLPack"): Tensor.__dlpack__ / __dlpack_device__ (and
// Variable's) export a tensor's storage; _from_dlpack imports any producer's tensor by copy.
//
// The ABI structs are written out below from the public DLPack specification (dlpack.h,
// v1.x): the legacy DLManagedTensor (capsule "dltensor") and the versioned
// DLManagedTensorVersioned (capsule "dltensor_versioned"), which carries flags.
//
// gradtape tensors are immutable, so an export may share the storage only when the consumer
// is told not to write through it: a versioned export (the consumer asked for max_version >=
// 1.0) shares the storage zero-copy with DLPACK_FLAG_BITMASK_READ_ONLY set; a legacy export
// (which cannot say read-only, and whose consumers may write) gets a private copy, as does an
// export with copy=True (flagged IS_COPIED, writable). The exported capsule holds one
// reference to the storage, released by the deleter, so the consumer's array outlives the
// gradtape tensor safely (as to_numpy's capsule does in convert.cpp).
#include <cstring>
#include <string>

#include "convert.h"

namespace gt::py_bind {

namespace {

// ---- The DLPack ABI (dlpack.h, v1.x), as the specification lays it out. ----
enum DLDeviceType : int32_t { kDLCPU = 1 };
struct DLDevice {
  int32_t device_type;  // DLDeviceType (a C enum: int-sized)
  int32_t device_id;
};
enum DLDataTypeCode : uint8_t { kDLInt = 0, kDLUInt = 1, kDLFloat = 2, kDLOpaqueHandle = 3, kDLBfloat = 4,
                                kDLComplex = 5, kDLBool = 6 };
struct DLDataType {
  uint8_t code;
  uint8_t bits;
  uint16_t lanes;
};
struct DLTensor {
  void* data;
  DLDevice device;
  int32_t ndim;
  DLDataType dtype;
  int64_t* shape;
  int64_t* strides;  // in elements; NULL means compact row-major
  uint64_t byte_offset;
};
struct DLManagedTensor {
  DLTensor dl_tensor;
  void* manager_ctx;
  void (*deleter)(DLManagedTensor* self);
};
struct DLPackVersion {
  uint32_t major;
  uint32_t minor;
};
constexpr uint64_t DLPACK_FLAG_BITMASK_READ_ONLY = 1ULL << 0;
constexpr uint64_t DLPACK_FLAG_BITMASK_IS_COPIED = 1ULL << 1;
struct DLManagedTensorVersioned {
  DLPackVersion version;
  void* manager_ctx;
  void (*deleter)(DLManagedTensorVersioned* self);
  uint64_t flags;
  DLTensor dl_tensor;
};
constexpr uint32_t kDLPackMajor = 1;
constexpr uint32_t kDLPackMinor = 0;
static_assert(sizeof(DLDevice) == 8 && sizeof(DLDataType) == 4 && sizeof(DLTensor) == 48 &&
              sizeof(DLManagedTensor) == 64 && sizeof(DLManagedTensorVersioned) == 80,
              "DLPack ABI layout");

// ---- Export ----

// What an exported capsule owns: the managed tensor (first), a reference to the storage, and
// the shape and strides the DLTensor points at. The deleter frees it (any thread; no GIL).
template <class Managed>
struct Export {
  Managed managed{};
  StoragePtr storage;
  int64_t shape[kMaxRank] = {};
  int64_t strides[kMaxRank] = {};
};

template <class Managed>
void delete_export(Managed* self) {
  delete static_cast<Export<Managed>*>(self->manager_ctx);
}

DLDataType dl_dtype(DType d) {
  switch (d) {
    case DType::Float32: return {kDLFloat, 32, 1};
    case DType::Float64: return {kDLFloat, 64, 1};
    case DType::Int32: return {kDLInt, 32, 1};
    case DType::Int64: return {kDLInt, 64, 1};
    case DType::Bool: return {kDLBool, 8, 1};
    case DType::Float16: return {kDLFloat, 16, 1};
    case DType::BFloat16: return {kDLBfloat, 16, 1};
    case DType::Int8: return {kDLInt, 8, 1};
    case DType::Int16: return {kDLInt, 16, 1};
    case DType::UInt8: return {kDLUInt, 8, 1};
    case DType::UInt16: return {kDLUInt, 16, 1};
    case DType::UInt32: return {kDLUInt, 32, 1};
    case DType::UInt64: return {kDLUInt, 64, 1};
  }
  throw TypeError_("dlpack: unknown dtype");
}

template <class Managed>
Export<Managed>* make_export(const Tensor& t, bool copy) {
  auto* e = new Export<Managed>();
  try {
    if (copy) {
      e->storage = StoragePtr(Storage::allocate(t.nbytes()));
      if (t.nbytes()) std::memcpy(e->storage->data(), t.raw(), t.nbytes());
    } else {
      t.raw();  // computed (a deferred tensor has no storage yet)
      e->storage = t.impl()->storage;
    }
  } catch (...) {
    delete e;
    throw;
  }
  contiguous_strides(t.shape(), e->strides);
  for (int i = 0; i < t.ndim(); ++i) e->shape[i] = t.shape()[i];
  DLTensor& dl = e->managed.dl_tensor;
  dl.data = e->storage->data();
  dl.device = {kDLCPU, 0};
  dl.ndim = t.ndim();
  dl.dtype = dl_dtype(t.dtype());
  dl.shape = e->shape;
  dl.strides = e->strides;
  dl.byte_offset = 0;
  e->managed.manager_ctx = e;
  e->managed.deleter = &delete_export<Managed>;
  return e;
}

// A capsule nobody consumed still owns its tensor (a consumer renames it "used_...").
template <class Managed>
void capsule_destructor(PyObject* capsule) {
  const char* name = std::is_same_v<Managed, DLManagedTensor> ? "dltensor" : "dltensor_versioned";
  if (!PyCapsule_IsValid(capsule, name)) return;  // consumed (or not ours to free)
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  auto* m = static_cast<Managed*>(PyCapsule_GetPointer(capsule, name));
  if (m && m->deleter) m->deleter(m);
  if (!m) PyErr_WriteUnraisable(capsule);
  PyErr_Restore(type, value, tb);
}

// The tensor to export: a Tensor, or a Variable's current value (a snapshot: a later assign
// copies on write while the export holds the storage, see variable.h).
Tensor export_source(py::handle self) {
  Tensor t = to_tensor(self);
  note_left_tape(t);
  if (t.get()->deferred.load()) without_gil([&] { t.raw(); return Tensor(); });  // compute it first
  return t;
}

py::object legacy_capsule(const Tensor& t) {
  auto* e = make_export<DLManagedTensor>(t, /*copy=*/true);
  PyObject* cap = PyCapsule_New(&e->managed, "dltensor", &capsule_destructor<DLManagedTensor>);
  if (!cap) {
    delete e;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(cap);
}

py::object dlpack(py::handle self, py::object stream, py::object max_version, py::object dl_device,
                  py::object copy) {
  if (!stream.is_none())
    throw py::value_error("__dlpack__: stream must be None for a CPU tensor, got " + std::string(py::repr(stream)));
  if (!dl_device.is_none()) {
    auto dev = dl_device.cast<std::pair<int64_t, int64_t>>();
    if (dev.first != kDLCPU || dev.second != 0)
      throw py::buffer_error("__dlpack__: gradtape tensors live on the CPU (device (1, 0)); cannot export to device " +
                             std::string(py::repr(dl_device)));
  }
  std::optional<bool> want_copy;
  if (!copy.is_none()) want_copy = copy.cast<bool>();
  bool versioned = false;
  if (!max_version.is_none()) {
    auto v = max_version.cast<std::pair<int64_t, int64_t>>();
    versioned = v.first >= 1;
  }
  Tensor t = export_source(self);
  if (!versioned) {
    // A legacy capsule cannot say read-only, and its consumers may write: only a copy is safe.
    if (want_copy == false)
      throw py::buffer_error("__dlpack__: a legacy DLPack capsule (max_version None or < 1.0) cannot be marked "
                             "read-only, so gradtape exports it only as a copy; pass copy=None or copy=True, or "
                             "ask for max_version=(1, 0) to share the memory read-only");
    return legacy_capsule(t);
  }
  const bool do_copy = want_copy == true;
  auto* e = make_export<DLManagedTensorVersioned>(t, do_copy);
  e->managed.version = {kDLPackMajor, kDLPackMinor};
  e->managed.flags = do_copy ? DLPACK_FLAG_BITMASK_IS_COPIED : DLPACK_FLAG_BITMASK_READ_ONLY;
  PyObject* cap = PyCapsule_New(&e->managed, "dltensor_versioned", &capsule_destructor<DLManagedTensorVersioned>);
  if (!cap) {
    delete e;
    throw py::error_already_set();
  }
  return py::reinterpret_steal<py::object>(cap);
}

// ---- Import ----

std::string dl_dtype_text(const DLDataType& d) {
  static const char* kinds[] = {"int", "uint", "float", "opaque", "bfloat", "complex", "bool"};
  std::string s = d.code < 7 ? std::string(kinds[d.code]) : "code " + std::to_string(d.code);
  s += std::to_string(d.bits);
  if (d.lanes != 1) s += "x" + std::to_string(d.lanes);
  return s;
}

DType dtype_from_dl(const DLDataType& d) {
  if (d.lanes == 1) {
    if (d.code == kDLFloat && d.bits == 32) return DType::Float32;
    if (d.code == kDLFloat && d.bits == 64) return DType::Float64;
    if (d.code == kDLInt && d.bits == 32) return DType::Int32;
    if (d.code == kDLInt && d.bits == 64) return DType::Int64;
    if (d.code == kDLBool && d.bits == 8) return DType::Bool;
    if (d.code == kDLFloat && d.bits == 16) return DType::Float16;
    if (d.code == kDLBfloat && d.bits == 16) return DType::BFloat16;
    if (d.code == kDLInt && d.bits == 8) return DType::Int8;
    if (d.code == kDLInt && d.bits == 16) return DType::Int16;
    if (d.code == kDLUInt && d.bits == 8) return DType::UInt8;
    if (d.code == kDLUInt && d.bits == 16) return DType::UInt16;
    if (d.code == kDLUInt && d.bits == 32) return DType::UInt32;
    if (d.code == kDLUInt && d.bits == 64) return DType::UInt64;
  }
  throw TypeError_("from_dlpack: unsupported dtype " + dl_dtype_text(d) +
                   ": gradtape supports float16, bfloat16, float32, float64, the 8/16/32/64-bit signed and unsigned "
                   "integers and bool (cast it first)");
}

// Copies a DLTensor (any strides) into a new gradtape tensor.
Tensor copy_in(const DLTensor& dl) {
  if (dl.device.device_type != kDLCPU)
    throw py::buffer_error("from_dlpack: gradtape tensors live on the CPU; this tensor is on DLPack device (" +
                           std::to_string(dl.device.device_type) + ", " + std::to_string(dl.device.device_id) +
                           "): move it to the CPU first");
  const DType dtype = dtype_from_dl(dl.dtype);
  if (dl.ndim < 0 || dl.ndim > kMaxRank)
    throw InvalidArgument("from_dlpack: rank " + std::to_string(dl.ndim) + " exceeds the maximum rank " +
                          std::to_string(kMaxRank));
  std::vector<int64_t> dims(dl.shape, dl.shape + dl.ndim);
  Tensor out = Tensor::empty(dtype, Shape(dims));
  const int64_t n = out.numel();
  if (n == 0) return out;
  const size_t es = dtype_size(dtype);
  const char* src = static_cast<const char*>(dl.data) + dl.byte_offset;
  char* dst = static_cast<char*>(out.raw());
  int64_t compact[kMaxRank];
  contiguous_strides(out.shape(), compact);
  bool contiguous = true;
  if (dl.strides) {
    for (int i = 0; i < dl.ndim; ++i)
      if (dl.shape[i] != 1 && dl.strides[i] != compact[i]) contiguous = false;
  }
  if (contiguous) {
    std::memcpy(dst, src, size_t(n) * es);
  } else {
    // an odometer over the index, the source offset following the producer's strides
    int64_t idx[kMaxRank] = {};
    int64_t off = 0;  // in elements
    for (int64_t k = 0; k < n; ++k) {
      std::memcpy(dst + size_t(k) * es, src + off * int64_t(es), es);
      for (int d = dl.ndim - 1; d >= 0; --d) {
        if (++idx[d] < dl.shape[d]) {
          off += dl.strides[d];
          break;
        }
        off -= dl.strides[d] * (dl.shape[d] - 1);
        idx[d] = 0;
      }
    }
  }
  if (dtype == DType::Bool) {  // any nonzero byte is true: store gradtape's 0/1
    auto* b = reinterpret_cast<uint8_t*>(dst);
    for (int64_t k = 0; k < n; ++k) b[k] = b[k] != 0;
  }
  return out;
}

// Takes a capsule's tensor: copies it, marks the capsule used, and calls the producer's deleter.
Tensor from_capsule(py::handle cap) {
  if (PyCapsule_IsValid(cap.ptr(), "dltensor_versioned")) {
    auto* m = static_cast<DLManagedTensorVersioned*>(PyCapsule_GetPointer(cap.ptr(), "dltensor_versioned"));
    if (m->version.major != kDLPackMajor)
      throw py::buffer_error("from_dlpack: DLPack version " + std::to_string(m->version.major) + "." +
                             std::to_string(m->version.minor) + " is not supported (gradtape reads 1.x)");
    // (the capsule still owns the tensor until renamed: an exception here leaves it to the capsule)
    Tensor t = copy_in(m->dl_tensor);
    PyCapsule_SetName(cap.ptr(), "used_dltensor_versioned");
    if (m->deleter) m->deleter(m);
    return t;
  }
  if (PyCapsule_IsValid(cap.ptr(), "dltensor")) {
    auto* m = static_cast<DLManagedTensor*>(PyCapsule_GetPointer(cap.ptr(), "dltensor"));
    Tensor t = copy_in(m->dl_tensor);
    PyCapsule_SetName(cap.ptr(), "used_dltensor");
    if (m->deleter) m->deleter(m);
    return t;
  }
  const char* name = PyCapsule_GetName(cap.ptr());
  if (name && (std::string(name) == "used_dltensor" || std::string(name) == "used_dltensor_versioned"))
    throw py::value_error("from_dlpack: this DLPack capsule was already consumed (a capsule can be used once)");
  PyErr_Clear();
  throw TypeError_("from_dlpack: a PyCapsule named \"dltensor\" or \"dltensor_versioned\" is required, got one named " +
                   std::string(name ? name : "(null)"));
}

py::object from_dlpack(py::handle x) {
  if (PyCapsule_CheckExact(x.ptr())) return wrap(from_capsule(x));
  if (!py::hasattr(x, "__dlpack__"))
    throw TypeError_("from_dlpack: expected an object with __dlpack__ (a NumPy array, a torch tensor, ...) or a "
                     "DLPack capsule, got " + std::string(py::str(py::type::of(x).attr("__name__"))));
  if (py::hasattr(x, "__dlpack_device__")) {
    auto dev = x.attr("__dlpack_device__")().cast<std::pair<int64_t, int64_t>>();
    if (dev.first != kDLCPU)
      throw py::buffer_error("from_dlpack: gradtape tensors live on the CPU; this tensor is on DLPack device (" +
                             std::to_string(dev.first) + ", " + std::to_string(dev.second) + "): move it to the CPU first");
  }
  py::object cap;
  try {
    cap = x.attr("__dlpack__")(py::arg("max_version") = py::make_tuple(kDLPackMajor, kDLPackMinor));
  } catch (py::error_already_set& e) {
    if (!e.matches(PyExc_TypeError)) throw;
    cap = x.attr("__dlpack__")();  // a producer from before DLPack 1.0 (no max_version)
  }
  if (!PyCapsule_CheckExact(cap.ptr())) throw TypeError_("from_dlpack: __dlpack__ did not return a capsule");
  return wrap(from_capsule(cap));
}

}  // namespace

void bind_dlpack(py::module_& m) {
  for (const char* name : {"Tensor", "Variable"}) {
    py::object cls = m.attr(name);
    cls.attr("__dlpack__") = py::cpp_function(
        &dlpack, py::name("__dlpack__"), py::is_method(cls), py::kw_only(),
        py::arg("stream") = py::none(), py::arg("max_version") = py::none(), py::arg("dl_device") = py::none(),
        py::arg("copy") = py::none(),
        "The DLPack capsule of the values (the array API's protocol; consumers call it, e.g. np.from_dlpack).\n\n"
        "With max_version >= (1, 0) the memory is shared, flagged read-only (gradtape tensors are immutable);\n"
        "with copy=True, or for a legacy capsule (max_version None), the capsule holds a private copy.\n");
    cls.attr("__dlpack_device__") = py::cpp_function(
        [](py::handle) { return py::make_tuple(int(kDLCPU), 0); }, py::name("__dlpack_device__"),
        py::is_method(cls), "The DLPack device, (1, 0): the CPU.");
  }
  m.def("_to_dlpack", [](py::handle x) { return legacy_capsule(export_source(x)); }, py::arg("tensor"));
  m.def("_from_dlpack", &from_dlpack, py::arg("x"));
}

}  // namespace gt::py_bind
