// gt.print's formatting and its program step (gradtape/steps.h): the one place that lays a
// tensor out as TensorFlow's tf.print does, used by eager gt.print, by the print step of a traced
// function, and by a saved model run from C++.
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "gradtape/errors.h"
#include "gradtape/steps.h"

namespace gt::steps {

namespace {

std::atomic<PrintSink> g_sink{nullptr};
thread_local bool t_muted = false;

// The shortest of `digits` significant digits and `more` that reads back as the same value.
template <class T>
std::string shortest(T v, int digits, int more) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", digits, double(v));
  const bool exact = std::is_same_v<T, float> ? std::strtof(buf, nullptr) == v : std::strtod(buf, nullptr) == double(v);
  if (!exact) std::snprintf(buf, sizeof buf, "%.*g", more, double(v));
  return buf;
}

std::string format_real(double v, bool single) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  // A subnormal value prints as a signed zero, as tf.print's does (its formatting runs with
  // denormals flushed): in the type printed, float32 for the half types, so a float16
  // subnormal, normal as a float32, prints its value, and a bfloat16 one prints 0.
  if (single ? std::fpclassify(float(v)) == FP_SUBNORMAL : std::fpclassify(v) == FP_SUBNORMAL)
    return std::signbit(v) ? "-0" : "0";
  return single ? shortest(float(v), 6, 9) : shortest(v, 15, 17);
}

// Element i (flat) of t, formatted.
std::string format_element(const Tensor& t, int64_t i) {
  const void* p = t.raw();
  switch (t.dtype()) {
    case DType::Float32: return format_real(static_cast<const float*>(p)[i], true);
    case DType::Float64: return format_real(static_cast<const double*>(p)[i], false);
    // (the half types print as float32, as TensorFlow's do)
    case DType::Float16: return format_real(half_to_float(static_cast<const uint16_t*>(p)[i]), true);
    case DType::BFloat16: return format_real(bfloat16_to_float(static_cast<const uint16_t*>(p)[i]), true);
    case DType::Bool: return static_cast<const bool*>(p)[i] ? "1" : "0";
    case DType::Int8: return std::to_string(static_cast<const int8_t*>(p)[i]);
    case DType::Int16: return std::to_string(static_cast<const int16_t*>(p)[i]);
    case DType::Int32: return std::to_string(static_cast<const int32_t*>(p)[i]);
    case DType::Int64: return std::to_string(static_cast<const int64_t*>(p)[i]);
    case DType::UInt8: return std::to_string(static_cast<const uint8_t*>(p)[i]);
    case DType::UInt16: return std::to_string(static_cast<const uint16_t*>(p)[i]);
    case DType::UInt32: return std::to_string(static_cast<const uint32_t*>(p)[i]);
    case DType::UInt64: return std::to_string(static_cast<const uint64_t*>(p)[i]);
  }
  return "?";
}

// The indices of a dimension of n elements that are printed (-1: the "..." between the ends).
std::vector<int64_t> shown(int64_t n, int64_t summarize) {
  std::vector<int64_t> idx;
  if (summarize >= 0 && summarize < (n + 1) / 2) {  // (n > 2 * summarize, without overflow)
    for (int64_t i = 0; i < summarize; ++i) idx.push_back(i);
    idx.push_back(-1);
    for (int64_t i = n - summarize; i < n; ++i) idx.push_back(i);
  } else {
    for (int64_t i = 0; i < n; ++i) idx.push_back(i);
  }
  return idx;
}

// The sub-array of t starting at flat offset `base` in dimension `dim`: "[a b c]" for the last
// dimension; otherwise its rows, separated by one newline per remaining dimension, every line
// after the first indented by one space per level. The "..." of the elements left out always
// follows a separator, even when nothing is shown before it (summarize 0: "[ ...]").
std::string format_dims(const Tensor& t, int dim, int64_t base, const std::vector<int64_t>& strides, int64_t summarize) {
  const int rank = t.ndim();
  const std::vector<int64_t> idx = shown(t.shape()[dim], summarize);
  std::string s = "[";
  if (dim == rank - 1) {
    for (size_t k = 0; k < idx.size(); ++k) {
      if (k || idx[k] < 0) s += ' ';
      s += idx[k] < 0 ? std::string("...") : format_element(t, base + idx[k]);
    }
    return s + "]";
  }
  const std::string between(size_t(rank - 1 - dim), '\n');
  for (size_t k = 0; k < idx.size(); ++k) {
    if (idx[k] < 0) {
      s += between + " ...";
      continue;
    }
    if (k) s += between;
    std::string part = format_dims(t, dim + 1, base + idx[k] * strides[size_t(dim)], strides, summarize);
    // indent every non-empty line but the very first of the whole block
    std::string indented;
    size_t start = 0;
    bool first_line = true;
    while (start <= part.size()) {
      size_t nl = part.find('\n', start);
      if (nl == std::string::npos) nl = part.size();
      const std::string line = part.substr(start, nl - start);
      if (!first_line) indented += '\n';
      if (!line.empty() && !(k == 0 && first_line)) indented += ' ';
      indented += line;
      first_line = false;
      start = nl + 1;
    }
    s += indented;
  }
  return s + "]";
}

void write_to(const std::string& stream, const std::string& text) {
  if (stream.rfind("file://", 0) == 0) {
    std::FILE* f = std::fopen(stream.c_str() + 7, "a");
    if (!f) throw InvalidArgument("gt.print: cannot open " + stream.substr(7) + " to append to it");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return;
  }
  if (PrintSink sink = g_sink.load(std::memory_order_acquire))
    if (sink(stream, text)) return;
  std::FILE* f = stream == "stdout" ? stdout : stderr;
  std::fwrite(text.data(), 1, text.size(), f);
  std::fflush(f);
}

}  // namespace

std::string format_for_print(const Tensor& t, int64_t summarize) {
  if (t.ndim() == 0) return summarize == 0 ? std::string("...") : format_element(t, 0);  // (as TensorFlow)
  std::vector<int64_t> strides(size_t(t.ndim()), 1);
  for (int d = t.ndim() - 2; d >= 0; --d) strides[size_t(d)] = strides[size_t(d + 1)] * t.shape()[d + 1];
  return format_dims(t, 0, 0, strides, summarize);
}

void set_print_sink(PrintSink sink) { g_sink.store(sink, std::memory_order_release); }

bool set_print_muted(bool muted) {
  const bool old = t_muted;
  t_muted = muted;
  return old;
}

bool print_muted() { return t_muted; }

void print(const std::vector<Tensor>& values, const std::vector<std::string>& texts, const std::vector<int64_t>& is_value,
           int64_t summarize, const std::string& sep, const std::string& end, const std::string& stream) {
  if (stream != "stdout" && stream != "stderr" && stream.rfind("file://", 0) != 0)
    throw InvalidArgument("gt.print: the stream is \"stdout\", \"stderr\" or \"file://<path>\", got \"" + stream + "\"");
  if (texts.size() != is_value.size()) throw InvalidArgument("gt.print: one text per part");
  std::string out;
  size_t next = 0;
  for (size_t i = 0; i < texts.size(); ++i) {
    if (i) out += sep;
    if (is_value[i]) {
      if (next >= values.size()) throw InvalidArgument("gt.print: more tensor parts than tensors");
      out += format_for_print(values[next++], summarize);
    } else {
      out += texts[i];
    }
  }
  if (next != values.size()) throw InvalidArgument("gt.print: more tensors than tensor parts");
  if (!t_muted) write_to(stream, out + end);
}

}  // namespace gt::steps
