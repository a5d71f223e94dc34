// Programs as text (gradtape/program.h, docs/saved-model.md): the token writer and reader, the
// encodings of the parameter types that are not inline in program.h, and the registry of the
// functions that op steps call.
#include <cctype>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "gradtape/program.h"

namespace gt {

// ---- the writer ----

void StepWriter::word(const std::string& w) {
  if (!text.empty() && text.back() != '\n') text += ' ';
  text += w;
}

void StepWriter::line(const std::string& w) {
  if (!text.empty() && text.back() != '\n') text += '\n';
  text += w;
}

void StepWriter::integer(int64_t v) { word(std::to_string(v)); }
void StepWriter::open_list(size_t n) {
  std::string w(1, '[');
  w += std::to_string(n);
  word(w);
}
void StepWriter::unsigned_integer(uint64_t v) { word(std::to_string(v)); }

void StepWriter::real(double v) {
  char buf[64];
  if (std::isnan(v)) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    std::snprintf(buf, sizeof buf, "nan:%016" PRIx64, bits);  // (the payload kept, bit for bit)
  } else {
    std::snprintf(buf, sizeof buf, "%a", v);
  }
  word(buf);
}

void StepWriter::string(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out = "'";
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == ',') {
      out += char(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  word(out);
}

namespace {
// "<tag><n>" (built by appending: GCC 12 warns falsely on "s" + std::to_string(n))
std::string tagged(char tag, int n) {
  std::string w(1, tag);
  w += std::to_string(n);
  return w;
}
}  // namespace

void StepWriter::tensor(const Tensor& t, int slot) {
  if (slot >= 0) {
    word(tagged('s', slot));
  } else if (!t.defined()) {
    word("u");
  } else {
    word(tagged('c', constant(t)));
  }
}

namespace {
// The number of `value` in `table` (by the identity of what `key` points to), added if new.
template <class T>
int intern(std::vector<T>& table, std::unordered_map<const void*, int>& ids, const void* key, const T& value) {
  auto [it, added] = ids.emplace(key, int(table.size()));
  if (added) table.push_back(value);
  return it->second;
}
}  // namespace

int StepWriter::constant(const Tensor& t) { return intern(constants, constant_ids_, t.get(), t); }

int StepWriter::variable(const std::shared_ptr<Variable>& v) { return intern(variables, variable_ids_, v.get(), v); }

int StepWriter::stream(const std::shared_ptr<random::PhiloxState>& s) { return intern(streams, stream_ids_, s.get(), s); }

// ---- the reader ----

StepReader::StepReader(std::vector<std::string> tokens, std::string what)
    : tokens_(std::move(tokens)), what_(std::move(what)) {}

void StepReader::fail(const std::string& why) const {
  throw DataLoss("saved model: " + what_ + " is corrupt or not a gradtape saved model (token " +
                 std::to_string(pos_) + "): " + why);
}

const std::string& StepReader::peek() const {
  if (pos_ >= tokens_.size()) fail("it ends too early");
  return tokens_[pos_];
}

std::string StepReader::word() {
  const std::string& w = peek();
  ++pos_;
  return w;
}

void StepReader::expect(const char* w) {
  const std::string got = word();
  if (got != w) fail(std::string("expected ") + w + ", got " + got.substr(0, 40));
}

int64_t StepReader::integer(int64_t lo, int64_t hi) {
  const std::string w = word();
  if (w.empty() || w.size() > 24) fail("expected an integer, got " + w.substr(0, 40));
  errno = 0;
  char* end = nullptr;
  const long long v = std::strtoll(w.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || end == w.c_str()) fail("expected an integer, got " + w);
  if (v < lo || v > hi) fail("the value " + w + " is out of range");
  return int64_t(v);
}

uint64_t StepReader::unsigned_integer() {
  const std::string w = word();
  if (w.empty() || w.size() > 24 || w[0] == '-') fail("expected an unsigned integer, got " + w.substr(0, 40));
  errno = 0;
  char* end = nullptr;
  const unsigned long long v = std::strtoull(w.c_str(), &end, 10);
  if (errno != 0 || *end != '\0' || end == w.c_str()) fail("expected an unsigned integer, got " + w);
  return uint64_t(v);
}

double StepReader::real() {
  const std::string w = word();
  if (w.size() > 64) fail("a number too long");
  if (w.rfind("nan:", 0) == 0) {
    errno = 0;
    char* end = nullptr;
    const unsigned long long bits = std::strtoull(w.c_str() + 4, &end, 16);
    if (errno != 0 || *end != '\0' || w.size() != 20) fail("a malformed nan " + w);
    double d;
    const uint64_t b = bits;
    std::memcpy(&d, &b, 8);
    return d;
  }
  errno = 0;
  char* end = nullptr;
  const double v = std::strtod(w.c_str(), &end);
  if (w.empty() || *end != '\0' || end == w.c_str()) fail("expected a number, got " + w);
  return v;
}

std::string StepReader::string() {
  const std::string w = word();
  if (w.empty() || w[0] != '\'') fail("expected a string, got " + w.substr(0, 40));
  std::string out;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] != '%') {
      out += w[i];
      continue;
    }
    if (i + 2 >= w.size()) fail("a malformed string");
    auto nib = [&](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      fail("a malformed string");
    };
    out += char(nib(w[i + 1]) * 16 + nib(w[i + 2]));
    i += 2;
  }
  return out;
}

namespace {
int64_t index_after(const StepReader& r, const std::string& w, size_t limit, const char* what) {
  if (w.size() < 2 || w.size() > 12) r.fail(std::string("expected ") + what + ", got " + w.substr(0, 40));
  int64_t v = 0;
  for (size_t i = 1; i < w.size(); ++i) {
    if (w[i] < '0' || w[i] > '9') r.fail(std::string("expected ") + what + ", got " + w);
    v = v * 10 + (w[i] - '0');
  }
  if (v < 0 || size_t(v) >= limit) r.fail(std::string(what) + " " + w + " is out of range");
  return v;
}
}  // namespace

int StepReader::slot() {
  const std::string w = word();
  if (w.empty() || w[0] != 's') fail("expected a slot, got " + w.substr(0, 40));
  return int(index_after(*this, w, size_t(num_slots), "a slot"));
}

int StepReader::tape() { return int(integer(0, int64_t(num_tapes) - 1)); }

Tensor StepReader::tensor(int* s) {
  const std::string w = word();
  *s = -1;
  if (w == "u") {
    if (in) in->push_back(-1);
    return Tensor();
  }
  if (!w.empty() && w[0] == 's') {
    *s = int(index_after(*this, w, size_t(num_slots), "a slot"));
    if (in) in->push_back(*s);
    return Tensor();
  }
  if (!w.empty() && w[0] == 'c') {
    const int64_t k = index_after(*this, w, constants.size(), "a constant");
    if (in) in->push_back(-1);
    return constants[size_t(k)];
  }
  fail("expected a tensor, got " + w.substr(0, 40));
}

std::shared_ptr<Variable> StepReader::variable() {
  const std::string w = word();
  if (w.empty() || w[0] != 'v') fail("expected a variable, got " + w.substr(0, 40));
  std::shared_ptr<Variable> v = variables[size_t(index_after(*this, w, variables.size(), "a variable"))];
  if (block_variables) block_variables->push_back(v);
  return v;
}

std::shared_ptr<random::PhiloxState> StepReader::stream() {
  const std::string w = word();
  if (w.empty() || w[0] != 'r') fail("expected a random stream, got " + w.substr(0, 40));
  return streams[size_t(index_after(*this, w, streams.size(), "a random stream"))];
}

size_t StepReader::count(size_t max) { return size_t(integer(0, int64_t(max))); }

// ---- encodings ----
namespace program_detail {

DType Codec<DType>::get(StepReader& r) {
  const std::string w = r.word();
  for (int v = 0; v < 32; ++v)
    if (is_dtype_value(v) && w == dtype_name(DType(v))) return DType(v);
  r.fail("unknown dtype " + w.substr(0, 40));
}

void Codec<Shape>::put(StepWriter& w, const Shape& s) { Codec<std::vector<int64_t>>::put(w, s.vec()); }

Shape Codec<Shape>::get(StepReader& r) {
  std::vector<int64_t> d = Codec<std::vector<int64_t>>::get(r);
  if (d.size() > size_t(kMaxRank)) r.fail("a shape of rank above " + std::to_string(kMaxRank));
  for (int64_t x : d)
    if (x < 0) r.fail("a shape with a negative dimension");
  return Shape(d);
}

void Codec<Tensor>::put(StepWriter& w, const Tensor& t) {
  const int s = (w.in && w.next_in < w.in->size()) ? (*w.in)[w.next_in++] : -1;
  w.tensor(t, s);
}

Tensor Codec<Tensor>::get(StepReader& r) {
  int s = -1;
  return r.tensor(&s);
}

void Codec<optim::Hyper>::put(StepWriter& w, const optim::Hyper& h) {
  for (double d : {h.learning_rate, h.beta_1, h.beta_2, h.epsilon, h.rho, h.momentum}) w.real(d);
  for (bool b : {h.nesterov, h.amsgrad, h.centered}) w.integer(b);
  w.integer(h.iterations);
  for (double d : {h.u_product, h.weight_decay, h.clip_value, h.grad_mul, h.grad_div}) w.real(d);
}

optim::Hyper Codec<optim::Hyper>::get(StepReader& r) {
  optim::Hyper h;
  for (double* d : {&h.learning_rate, &h.beta_1, &h.beta_2, &h.epsilon, &h.rho, &h.momentum}) *d = r.real();
  for (bool* b : {&h.nesterov, &h.amsgrad, &h.centered}) *b = r.integer(0, 1) != 0;
  h.iterations = r.integer();
  for (double* d : {&h.u_product, &h.weight_decay, &h.clip_value, &h.grad_mul, &h.grad_div}) *d = r.real();
  return h;
}

void Codec<Padding>::put(StepWriter& w, const Padding& p) {
  w.string(p.mode);
  Codec<std::vector<int64_t>>::put(w, p.pairs);
}

Padding Codec<Padding>::get(StepReader& r) {
  Padding p;
  p.mode = r.string();
  p.pairs = Codec<std::vector<int64_t>>::get(r);
  return p;
}

// ---- the registry ----
namespace {
struct Registry {
  std::mutex mu;
  std::unordered_map<const void*, std::string> keys;
  std::unordered_map<std::string, StepDecoder> decoders;
};
Registry& registry_storage() {
  static Registry* r = new Registry();  // (never destroyed: used until the process ends)
  return *r;
}
}  // namespace

void register_builtin_steps();  // step_registry.cpp

Registry& registry() {
  static std::once_flag once;
  std::call_once(once, [] { register_builtin_steps(); });
  return registry_storage();
}

void register_step(const void* fn, const std::string& key, StepDecoder decode) {
  Registry& r = registry_storage();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.decoders.find(key);
  if (it != r.decoders.end() && r.keys.count(fn) && r.keys[fn] == key) return;  // (the same row twice)
  if (it != r.decoders.end())
    throw std::logic_error("gradtape: two step functions registered under the key " + key);
  r.keys.emplace(fn, key);  // (a function registered twice keeps its first key)
  r.decoders.emplace(key, std::move(decode));
}

const std::string* step_key(const void* fn) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.keys.find(fn);
  return it == r.keys.end() ? nullptr : &it->second;
}

const StepDecoder* step_decoder(const std::string& key) {
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mu);
  auto it = r.decoders.find(key);
  return it == r.decoders.end() ? nullptr : &it->second;
}

}  // namespace program_detail
}  // namespace gt
