// Runs a fuzz target without libFuzzer: every file of the corpus directories
// given on the command line, then deterministic mutations of them (bit flips,
// truncations, byte insertions, splices, huge length prefixes), bounded by
// --runs N and --seconds S. Used by ctest; scripts/fuzz runs real libFuzzer.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_target.hpp"

namespace {

using bytes = std::vector<uint8_t>;

bytes mutate(const bytes& in, const std::vector<bytes>& corpus, std::mt19937_64& rng) {
  bytes out = in;
  auto pick = [&](size_t n) { return n == 0 ? size_t{0} : static_cast<size_t>(rng() % n); };
  switch (rng() % 7) {
    case 0:  // flip bits
      for (int i = 0; i < 1 + static_cast<int>(rng() % 4) && !out.empty(); ++i)
        out[pick(out.size())] ^= static_cast<uint8_t>(1u << (rng() % 8));
      break;
    case 1:  // truncate
      out.resize(pick(out.size() + 1));
      break;
    case 2:  // insert random bytes
      for (int i = 0; i < 1 + static_cast<int>(rng() % 8); ++i)
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pick(out.size() + 1)),
                   static_cast<uint8_t>(rng()));
      break;
    case 3:  // overwrite with 0xFF runs (huge varint lengths)
      for (size_t i = pick(out.size() + 1), n = 0; i < out.size() && n < 9; ++i, ++n) out[i] = 0xFF;
      break;
    case 4: {  // splice with another input
      const auto& other = corpus[pick(corpus.size())];
      out.resize(pick(out.size() + 1));
      auto from = pick(other.size() + 1);
      out.insert(out.end(), other.begin() + static_cast<std::ptrdiff_t>(from), other.end());
      break;
    }
    case 5:  // random bytes
      out.resize(pick(64));
      for (auto& b : out) b = static_cast<uint8_t>(rng());
      break;
    default:  // duplicate a slice
      if (!out.empty()) {
        auto a = pick(out.size());
        auto b = a + pick(out.size() - a + 1);
        bytes slice(out.begin() + static_cast<std::ptrdiff_t>(a),
                    out.begin() + static_cast<std::ptrdiff_t>(b));
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pick(out.size() + 1)), slice.begin(),
                   slice.end());
      }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  long runs = 20000;
  double seconds = 30;
  std::vector<bytes> corpus;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::stol(argv[++i]);
    } else if (arg == "--seconds" && i + 1 < argc) {
      seconds = std::stod(argv[++i]);
    } else {
      for (const auto& entry : std::filesystem::directory_iterator(arg)) {
        std::ifstream in(entry.path(), std::ios::binary);
        corpus.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
      }
    }
  }
  if (corpus.empty()) corpus.emplace_back();
  for (const auto& input : corpus) LLVMFuzzerTestOneInput(input.data(), input.size());
  std::mt19937_64 rng{20261126};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  long done = 0;
  for (; done < runs && std::chrono::steady_clock::now() < deadline; ++done) {
    auto input = mutate(corpus[static_cast<size_t>(rng() % corpus.size())], corpus, rng);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("fuzz: %zu corpus inputs, %ld mutations, no failure\n", corpus.size(), done);
  return 0;
}
