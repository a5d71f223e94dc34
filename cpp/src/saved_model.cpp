// Saved models (gradtape/saved_model.h, docs/saved-model.md): the program file, the constants
// blob, and a reader of the checkpoint's .npz (a stored zip of .npy members) for the variables.
#include "gradtape/saved_model.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "gradtape/ops.h"

namespace gt {

namespace {

const char* const kMagic = "gradtape-saved-model";
const char* const kProgramFile = "saved_model.txt";
const char* const kConstantsFile = "constants.bin";
const char* const kVariablesFile = "variables/variables.npz";

uint64_t fnv1a(const void* data, size_t n, uint64_t h = 1469598103934665603ull) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    h ^= p[i];
    h *= 1099511628211ull;
  }
  return h;
}

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

bool file_exists(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return bool(f);
}

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw NotFound("saved model: no file " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) throw DataLoss("saved model: cannot read " + path);
  return ss.str();
}

void write_file(const std::string& path, const std::string& data) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) throw NotFound("saved model: cannot write " + tmp + " (does the directory exist?)");
    f.write(data.data(), std::streamsize(data.size()));
    f.flush();
    if (!f) throw std::runtime_error("saved model: writing " + tmp + " failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("saved model: cannot rename " + tmp);
}

std::vector<std::string> tokens_of(const std::string& text) {
  std::vector<std::string> t;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
    const size_t b = i;
    while (i < text.size() && !(text[i] == ' ' || text[i] == '\n' || text[i] == '\t' || text[i] == '\r')) ++i;
    if (i > b) t.push_back(text.substr(b, i - b));
  }
  return t;
}

// ---- the .npz reader (NumPy's format; docs/saved-model.md) ----

uint32_t crc32(const unsigned char* p, size_t n) {
  static uint32_t table[256];
  static bool init = [] {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      table[i] = c;
    }
    return true;
  }();
  (void)init;
  uint32_t c = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) c = table[(c ^ p[i]) & 0xFF] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

struct Zip {
  const std::string& data;
  std::string path;
  [[noreturn]] void fail(const std::string& why) const {
    throw DataLoss("saved model: " + path + " is truncated, corrupt or not a gradtape checkpoint: " + why);
  }
  uint64_t le(size_t off, int n) const {
    if (off > data.size() || size_t(n) > data.size() - off) fail("a record runs past the end of the file");
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; --i) v = (v << 8) | uint8_t(data[off + size_t(i)]);
    return v;
  }
  // member name -> (data offset, size)
  std::unordered_map<std::string, std::pair<size_t, size_t>> members;

  void parse() {
    if (data.size() < 22) fail("too short");
    size_t eocd = std::string::npos;
    const size_t lo = data.size() > 65557 ? data.size() - 65557 : 0;
    for (size_t i = data.size() - 22 + 1; i-- > lo;)
      if (le(i, 4) == 0x06054b50u) {
        eocd = i;
        break;
      }
    if (eocd == std::string::npos) fail("no end of central directory");
    uint64_t count = le(eocd + 10, 2), cd_off = le(eocd + 16, 4);
    if (count == 0xFFFF || cd_off == 0xFFFFFFFFu) {
      if (eocd < 20 || le(eocd - 20, 4) != 0x07064b50u) fail("no zip64 locator");
      const size_t e64 = size_t(le(eocd - 20 + 8, 8));
      if (le(e64, 4) != 0x06064b50u) fail("no zip64 end record");
      count = le(e64 + 32, 8);
      cd_off = le(e64 + 48, 8);
    }
    size_t p = size_t(cd_off);
    if (count > data.size() / 46) fail("an impossible member count");
    for (uint64_t k = 0; k < count; ++k) {
      if (le(p, 4) != 0x02014b50u) fail("a bad central directory entry");
      const uint64_t method = le(p + 10, 2);
      const uint32_t crc = uint32_t(le(p + 16, 4));
      uint64_t csize = le(p + 20, 4), usize = le(p + 24, 4);
      const size_t nlen = size_t(le(p + 28, 2)), elen = size_t(le(p + 30, 2)), clen = size_t(le(p + 32, 2));
      uint64_t lh = le(p + 42, 4);
      if (p + 46 + nlen > data.size()) fail("a member name runs past the end");
      const std::string name = data.substr(p + 46, nlen);
      // zip64 extra field: the 0xFFFFFFFF fields, in the order usize, csize, offset
      size_t e = p + 46 + nlen;
      const size_t eend = e + elen;
      while (e + 4 <= eend) {
        const uint64_t id = le(e, 2), sz = le(e + 2, 2);
        if (id == 1) {
          size_t q = e + 4;
          if (usize == 0xFFFFFFFFu) { usize = le(q, 8); q += 8; }
          if (csize == 0xFFFFFFFFu) { csize = le(q, 8); q += 8; }
          if (lh == 0xFFFFFFFFu) { lh = le(q, 8); q += 8; }
        }
        e += 4 + size_t(sz);
      }
      if (method != 0) fail("member " + name + " is compressed (a checkpoint's are stored)");
      if (csize != usize) fail("member " + name + " has inconsistent sizes");
      if (le(size_t(lh), 4) != 0x04034b50u) fail("a bad local header for " + name);
      const size_t start = size_t(lh) + 30 + size_t(le(size_t(lh) + 26, 2)) + size_t(le(size_t(lh) + 28, 2));
      if (start > data.size() || usize > data.size() - start) fail("member " + name + " runs past the end");
      if (crc32(reinterpret_cast<const unsigned char*>(data.data()) + start, size_t(usize)) != crc)
        fail("member " + name + " fails its CRC-32 check");
      members[name] = {start, size_t(usize)};
      p += 46 + nlen + elen + clen;
    }
  }
};

const char* npy_descr(DType d) {
  switch (d) {
    case DType::Float32: return "<f4";
    case DType::Float64: return "<f8";
    case DType::Float16: return "<f2";
    case DType::Int8: return "|i1";
    case DType::Int16: return "<i2";
    case DType::Int32: return "<i4";
    case DType::Int64: return "<i8";
    case DType::UInt8: return "|u1";
    case DType::UInt16: return "<u2";
    case DType::UInt32: return "<u4";
    case DType::UInt64: return "<u8";
    case DType::Bool: return "|b1";
    case DType::BFloat16: return "<V2";
  }
  return "?";
}

// A variable's value from its .npy member, checked against the dtype and shape the program file gives.
Tensor read_npy(const Zip& z, const std::string& member, DType dtype, const Shape& shape) {
  auto it = z.members.find(member);
  if (it == z.members.end()) z.fail("no member " + member);
  const size_t off = it->second.first, n = it->second.second;
  const char* p = z.data.data() + off;
  if (n < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0) z.fail(member + " is not a .npy array");
  const int major = uint8_t(p[6]);
  size_t hlen, hstart;
  if (major == 1) {
    hlen = size_t(uint8_t(p[8])) | size_t(uint8_t(p[9])) << 8;
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (n < 12) z.fail(member + " is truncated");
    hlen = size_t(uint8_t(p[8])) | size_t(uint8_t(p[9])) << 8 | size_t(uint8_t(p[10])) << 16 | size_t(uint8_t(p[11])) << 24;
    hstart = 12;
  } else {
    z.fail(member + " has .npy version " + std::to_string(major));
  }
  if (hlen > n - hstart) z.fail(member + "'s header runs past its end");
  const std::string header(p + hstart, hlen);
  // {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
  auto field = [&](const char* key) -> std::string {
    const size_t k = header.find(std::string("'") + key + "'");
    if (k == std::string::npos) z.fail(member + "'s header has no " + key);
    size_t v = header.find(':', k);
    if (v == std::string::npos) z.fail(member + "'s header is malformed");
    ++v;
    while (v < header.size() && header[v] == ' ') ++v;
    size_t e = v;
    if (v < header.size() && header[v] == '(') {
      e = header.find(')', v);
      if (e == std::string::npos) z.fail(member + "'s header is malformed");
      return header.substr(v, e - v + 1);
    }
    if (v < header.size() && header[v] == '\'') {
      e = header.find('\'', v + 1);
      if (e == std::string::npos) z.fail(member + "'s header is malformed");
      return header.substr(v + 1, e - v - 1);
    }
    while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
    return header.substr(v, e - v);
  };
  const std::string descr = field("descr"), fortran = field("fortran_order"), shp = field("shape");
  const bool descr_ok = descr == npy_descr(dtype) || (dtype == DType::BFloat16 && (descr == "|V2" || descr == "bfloat16"));
  if (!descr_ok) z.fail(member + " holds " + descr + " values where the program file says " + dtype_name(dtype));
  if (fortran != "False") z.fail(member + " is in Fortran order");
  std::vector<int64_t> dims;
  {
    std::string digits;
    for (size_t i = 1; i < shp.size(); ++i) {
      const char c = shp[i];
      if (c >= '0' && c <= '9') {
        digits += c;
        if (digits.size() > 15) z.fail(member + "'s shape is too large");
      } else if (c == ',' || c == ')') {
        if (!digits.empty()) dims.push_back(std::stoll(digits));
        digits.clear();
      } else if (c != ' ' && c != 'L') {
        z.fail(member + "'s shape is malformed");
      }
    }
  }
  bool same = dims.size() == size_t(shape.rank());
  for (size_t i = 0; same && i < dims.size(); ++i) same = dims[i] == shape[int(i)];
  if (!same) z.fail(member + " has another shape than the program file's " + shape.str());
  int64_t numel = 1;
  for (int i = 0; i < shape.rank(); ++i) {
    if (shape[i] != 0 && numel > (int64_t(1) << 50) / shape[i]) z.fail(member + "'s shape is too large");
    numel *= shape[i];
  }
  const size_t bytes = size_t(numel) * dtype_size(dtype);
  if (bytes != n - hstart - hlen) z.fail(member + " has " + std::to_string(n - hstart - hlen) + " bytes of data for " +
                                         std::to_string(bytes));
  return from_data(p + hstart + hlen, dtype, shape);
}

}  // namespace

// ---- writing ----

void SavedModelWriter::add_function(const std::string& name, const std::string& meta) {
  w_.line("function");
  w_.string(name);
  w_.string(meta);
}

void SavedModelWriter::add_concrete(const std::vector<InputSpec>& inputs, const Program& program,
                                    const std::string& meta, bool shape_polymorphic) {
  const size_t mark = w_.text.size();
  w_.line("concrete");
  w_.open_list(inputs.size());
  for (const InputSpec& s : inputs) {
    program_detail::Codec<DType>::put(w_, s.dtype);
    program_detail::Codec<std::vector<int64_t>>::put(w_, s.shape);
  }
  w_.word("]");
  w_.string(meta);
  w_.guards = shape_polymorphic;
  program.save(w_);
  w_.guards = false;
  if (w_.too_deep) {
    w_.too_deep = false;
    w_.refused.clear();
    w_.text.resize(mark);
    throw ValueError_("gt.saved_model.save: a traced function nests gt.cond / gt.while_loop blocks deeper than " +
                      std::to_string(kMaxBlockDepth) + ", more than a saved model may hold (its reader refuses them)");
  }
  if (!w_.refused.empty()) {
    const std::string step = w_.refused;
    w_.refused.clear();
    w_.text.resize(mark);
    throw ValueError_("gt.saved_model.save: a traced function has a step that cannot be saved: " + step +
                      ". A Python host callback (gt.print to a Python stream object, gt.py_function, gt.numpy_function, a "
                      "gt.debugging check of a tensor computed inside the function) runs Python code, which "
                      "a saved model does not hold (it must load and run without Python); remove it from the "
                      "function, or call it outside the function");
  }
  shape_polymorphic_ = shape_polymorphic_ || shape_polymorphic;
  w_.line("endconcrete");
}

void SavedModelWriter::write(const std::string& dir, const std::vector<std::string>& keys,
                             const std::vector<std::string>& members, const std::string& meta) {
  if (keys.size() != w_.variables.size() || members.size() != w_.variables.size())
    throw InvalidArgument("SavedModelWriter::write: one key and one member per variable");
  // Constants: the blob, and its table. Each constant starts at a multiple of 64 bytes.
  std::string blob;
  StepWriter head;
  head.word(kMagic);
  head.integer(shape_polymorphic_ ? 2 : 1);  // (version 1 when an older loader reads it right)
  head.line("meta");
  head.string(meta);
  head.line("variables");
  head.integer(int64_t(w_.variables.size()));
  for (size_t i = 0; i < w_.variables.size(); ++i) {
    const Variable& v = *w_.variables[i];
    head.line("variable");
    head.string(keys[i]);
    head.string(members[i]);
    program_detail::Codec<DType>::put(head, v.dtype());
    program_detail::Codec<Shape>::put(head, v.shape());
    head.integer(v.trainable());
    head.string(v.name());
  }
  head.line("streams");
  head.integer(int64_t(w_.streams.size()));
  for (const auto& s : w_.streams) {
    head.line("stream");
    program_detail::Codec<random::PhiloxState>::put(head, *s);
  }
  head.line("constants");
  head.integer(int64_t(w_.constants.size()));
  for (const Tensor& t : w_.constants) {
    blob.resize((blob.size() + 63) / 64 * 64, '\0');
    const size_t off = blob.size();
    blob.append(static_cast<const char*>(t.raw()), t.nbytes());
    head.line("constant");
    program_detail::Codec<DType>::put(head, t.dtype());
    program_detail::Codec<Shape>::put(head, t.shape());
    head.unsigned_integer(off);
    head.unsigned_integer(t.nbytes());
    head.word(hex64(fnv1a(t.raw(), t.nbytes())));
  }
  std::string text = head.text + "\n" + w_.text + "\nend\n";
  text += "checksum " + hex64(fnv1a(text.data(), text.size())) + "\n";
  write_file(dir + "/" + kConstantsFile, blob);
  write_file(dir + "/" + kProgramFile, text);
}

// ---- reading ----

bool SavedFunction::matches(const SavedConcrete& c, const std::vector<Tensor>& inputs) {
  if (c.inputs.size() != inputs.size()) return false;
  bool ok = true;
  for (size_t i = 0; i < inputs.size() && ok; ++i) {
    const InputSpec& s = c.inputs[i];
    const Tensor& t = inputs[i];
    ok = t.defined() && t.dtype() == s.dtype && t.ndim() == int(s.shape.size());
    for (int d = 0; ok && d < t.ndim(); ++d) ok = s.shape[size_t(d)] < 0 || s.shape[size_t(d)] == t.shape()[d];
  }
  return ok;
}

const SavedConcrete* SavedFunction::match(const std::vector<Tensor>& inputs) const {
  for (const SavedConcrete& c : concretes)
    if (matches(c, inputs)) return &c;
  return nullptr;
}

bool SavedModel::has_function(const std::string& name) const {
  for (const SavedFunction& f : functions_)
    if (f.name == name) return true;
  return false;
}

const SavedFunction& SavedModel::function(const std::string& name) const {
  for (const SavedFunction& f : functions_)
    if (f.name == name) return f;
  std::string names;
  for (const SavedFunction& f : functions_) names += (names.empty() ? "" : ", ") + f.name;
  throw InvalidArgument("saved model: no function named " + name + " (it has: " + names + ")");
}

std::vector<Tensor> SavedModel::call(const std::string& name, const std::vector<Tensor>& inputs) const {
  const SavedFunction& f = function(name);
  // The first concrete function whose inputs match and whose shape guards hold (a program saved
  // for other sizes than its trace's fails a guard before any effect, and the next is tried).
  std::vector<Tensor> out;
  bool matched = false;
  for (const SavedConcrete& k : f.concretes) {
    if (!SavedFunction::matches(k, inputs)) continue;
    matched = true;
    if (k.program->try_run(inputs, out)) return out;
  }
  if (matched)
    throw InvalidArgument("saved model: function " + name + " was traced for these inputs' sizes, but a shape its "
                          "trace read differs here (a shape guard failed); it cannot run them");
  {
    std::string got, want;
    for (const Tensor& t : inputs)
      got += std::string(got.empty() ? "" : ", ") + (t.defined() ? std::string(dtype_name(t.dtype())) + t.shape().str() : "undefined");
    for (const SavedConcrete& k : f.concretes) {
      std::string one;
      for (const InputSpec& s : k.inputs) {
        one += std::string(one.empty() ? "" : ", ") + dtype_name(s.dtype) + "(";
        for (size_t d = 0; d < s.shape.size(); ++d)
          one += (d ? ", " : "") + (s.shape[d] < 0 ? std::string("None") : std::to_string(s.shape[d]));
        one += s.shape.size() == 1 ? ",)" : ")";
      }
      want += "\n  (" + one + ")";
    }
    throw InvalidArgument("saved model: function " + name + " was traced for none of the inputs (" + got +
                          "); it takes one of:" + want);
  }
}

std::shared_ptr<Variable> SavedModel::variable(const std::string& key) const {
  for (size_t i = 0; i < keys_.size(); ++i)
    if (keys_[i] == key) return variables_[i];
  return nullptr;
}

std::shared_ptr<SavedModel> load_saved_model(const std::string& dir) {
  const std::string path = dir + "/" + kProgramFile;
  if (!file_exists(path)) throw NotFound("SavedModel file does not exist at: " + dir + " (no " + kProgramFile + ")");
  const std::string text = read_file(path);
  // The header first (a newer version is refused as such), then the checksum of the whole text.
  {
    std::vector<std::string> first = tokens_of(text.substr(0, 64));
    if (first.empty() || first[0] != kMagic)
      throw DataLoss("saved model: " + path + " is not a gradtape saved model");
    if (first.size() < 2) throw DataLoss("saved model: " + path + " is truncated");
    StepReader h({first[1]}, path);
    const int64_t version = h.integer(0, INT32_MAX);
    if (version > kSavedModelVersion)
      throw DataLoss("saved model: " + path + " has format version " + std::to_string(version) +
                     ", newer than this gradtape reads (" + std::to_string(kSavedModelVersion) +
                     "); load it with a newer gradtape");
    if (version < 1) throw DataLoss("saved model: " + path + " has an invalid format version");
  }
  const size_t ck = text.rfind("checksum ");
  if (ck == std::string::npos || (ck > 0 && text[ck - 1] != '\n'))
    throw DataLoss("saved model: " + path + " is truncated (it has no checksum line)");
  {
    const std::vector<std::string> t = tokens_of(text.substr(ck));
    if (t.size() != 2 || t[1] != hex64(fnv1a(text.data(), ck)))
      throw DataLoss("saved model: " + path + " is corrupt (its checksum does not match its contents)");
  }
  StepReader r(tokens_of(text.substr(0, ck)), path);
  auto m = std::make_shared<SavedModel>();
  r.expect(kMagic);
  m->version_ = int(r.integer(1, kSavedModelVersion));
  r.expect("meta");
  m->meta_ = r.string();

  // Variables: their values from the checkpoint.
  r.expect("variables");
  const size_t nv = r.count();
  const std::string vpath = dir + "/" + kVariablesFile;
  std::string zdata;
  if (nv > 0) zdata = read_file(vpath);
  Zip z{zdata, vpath, {}};
  if (nv > 0) z.parse();
  for (size_t i = 0; i < nv; ++i) {
    r.expect("variable");
    std::string key = r.string(), member = r.string();
    const DType d = program_detail::Codec<DType>::get(r);
    const Shape s = program_detail::Codec<Shape>::get(r);
    const bool trainable = r.integer(0, 1) != 0;
    std::string name = r.string();
    Tensor value = read_npy(z, member, d, s);
    m->variables_.push_back(Variable::make(value, trainable, name));
    m->keys_.push_back(std::move(key));
  }
  r.expect("streams");
  const size_t ns = r.count();
  for (size_t i = 0; i < ns; ++i) {
    r.expect("stream");
    r.streams.push_back(random::make_stream(program_detail::Codec<random::PhiloxState>::get(r)));
  }
  r.expect("constants");
  const size_t nc = r.count();
  const std::string blob = nc > 0 ? read_file(dir + "/" + kConstantsFile) : std::string();
  for (size_t i = 0; i < nc; ++i) {
    r.expect("constant");
    const DType d = program_detail::Codec<DType>::get(r);
    const Shape s = program_detail::Codec<Shape>::get(r);
    const uint64_t off = r.unsigned_integer(), n = r.unsigned_integer();
    const std::string sum = r.word();
    int64_t numel = 1;
    for (int k = 0; k < s.rank(); ++k) {
      if (s[k] != 0 && numel > (int64_t(1) << 40) / s[k]) r.fail("a constant too large");
      numel *= s[k];
    }
    if (n != uint64_t(numel) * dtype_size(d)) r.fail("a constant's size does not match its shape");
    if (off > blob.size() || n > blob.size() - off)
      throw DataLoss("saved model: " + dir + "/" + kConstantsFile + " is truncated");
    if (hex64(fnv1a(blob.data() + off, size_t(n))) != sum)
      throw DataLoss("saved model: " + dir + "/" + kConstantsFile + " is corrupt (constant " + std::to_string(i) +
                     " fails its checksum)");
    r.constants.push_back(from_data(blob.data() + off, d, s));
  }
  r.variables = m->variables_;

  while (r.peek() == "function") {
    r.word();
    SavedFunction f;
    f.name = r.string();
    f.meta = r.string();
    while (r.peek() == "concrete") {
      r.word();
      SavedConcrete c;
      const std::string open = r.word();
      if (open.empty() || open[0] != '[') r.fail("expected the inputs' list");
      StepReader counter({open.substr(1)}, path);
      const size_t ni = counter.count();
      for (size_t i = 0; i < ni; ++i) {
        InputSpec s;
        s.dtype = program_detail::Codec<DType>::get(r);
        s.shape = program_detail::Codec<std::vector<int64_t>>::get(r);
        if (s.shape.size() > size_t(kMaxRank)) r.fail("an input of rank above " + std::to_string(kMaxRank));
        c.inputs.push_back(std::move(s));
      }
      r.expect("]");
      c.meta = r.string();
      c.program = Program::load(r);
      if (c.program->num_inputs() != c.inputs.size()) r.fail("a program with another number of inputs than its signature");
      r.expect("endconcrete");
      f.concretes.push_back(std::move(c));
    }
    m->functions_.push_back(std::move(f));
  }
  r.expect("end");
  if (!r.done()) r.fail("text after the end");
  return m;
}

}  // namespace gt
