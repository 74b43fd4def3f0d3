// A fixed-size log-linear latency histogram (HdrHistogram's layout, simplified).
//
// Values are nanoseconds. Each power-of-two range is split into kSubBuckets linear buckets, so
// a recorded value is known to within 1/kSubBuckets (0.8 %) of itself. The storage is one
// array sized at compile time: record() never allocates. One histogram belongs to one thread;
// merge() combines them after the threads have stopped.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace stgt::bench {

class Histogram {
 public:
  static constexpr unsigned kSubBits = 7;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBits;
  // Values at or above 2^40 ns (about 18 minutes) land in the last bucket.
  static constexpr unsigned kMaxBits = 40;
  static constexpr size_t kBuckets = (kMaxBits - kSubBits + 2) * kSubBuckets;

  void record(uint64_t ns) {
    const uint64_t v = std::min(ns, (uint64_t{1} << kMaxBits) - 1);
    counts_[index(v)] += 1;
    total_ += 1;
    max_ = std::max(max_, ns);
  }

  void merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    total_ += other.total_;
    max_ = std::max(max_, other.max_);
  }

  void clear() {
    counts_.fill(0);
    total_ = 0;
    max_ = 0;
  }

  uint64_t total() const { return total_; }
  uint64_t max() const { return max_; }

  // The value at quantile q (0..1): the midpoint of the bucket holding the q-th value,
  // never above the exact maximum.
  uint64_t quantile(double q) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(total_ - 1)) + 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank) return std::min(midpoint(i), max_);
    }
    return max_;
  }

 private:
  static size_t index(uint64_t v) {
    const unsigned msb = 63U - static_cast<unsigned>(std::countl_zero(v | 1));
    const unsigned shift = msb > kSubBits ? msb - kSubBits : 0;
    return static_cast<size_t>(shift * kSubBuckets + (v >> shift));
  }

  static uint64_t midpoint(size_t idx) {
    if (idx < 2 * kSubBuckets) return idx;
    const uint64_t shift = idx / kSubBuckets - 1;
    const uint64_t mantissa = idx - shift * kSubBuckets;
    return (mantissa << shift) + ((uint64_t{1} << shift) >> 1);
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t total_ = 0;
  uint64_t max_ = 0;
};

}  // namespace stgt::bench
