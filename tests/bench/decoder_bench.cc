// Google Benchmark of the stream decoding path (docs/benchmarks.md): the
// SSE framer alone, and framer + chunk decoder, on g4f-shaped streams (the
// recorded tests/data/streams/g4f_copilot.sse chunk layout, repeated) and on
// the recorded files themselves. Reports bytes/s and chunks/s; ns per chunk
// is 1e9 / items_per_second. Not a test: no thresholds.
#include <benchmark/benchmark.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>
#include <string>

#include "chatbatch/response_decoder.h"
#include "wire/sse_framer.h"

// Every allocation of the process, to show that steady decoding makes none.
static std::atomic<int64_t> g_allocations{0};
void* operator new(size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
// The operator new above takes from malloc, so free is the matching
// release; g++ does not see that the pair is replaced
// (-Wmismatched-new-delete).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }
#pragma GCC diagnostic pop

namespace chatbatch {
namespace {

// "chunks" g4f Copilot chunks of one or two words, then [DONE]: the layout
// g4f sends, content varied so no two lines are equal.
std::string G4fStream(int chunks) {
  static const char* kWords[] = {"Hello",  " Heiner", "! I'm", " fine,",
                                 " thank", " you.",   " How",  " can I help?"};
  std::string body;
  for (int i = 0; i < chunks; ++i) {
    body +=
        "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\","
        "\"created\":1718000000,\"model\":\"\",\"provider\":\"Copilot\","
        "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","
        "\"content\":\"";
    body += kWords[i % 8];
    body += "\"},\"finish_reason\":null}]}\n\n";
  }
  body +=
      "data: {\"id\":\"chatcmpl-8f2c\",\"object\":\"chat.completion.chunk\","
      "\"created\":1718000000,\"model\":\"\",\"provider\":\"Copilot\","
      "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}"
      "\n\ndata: [DONE]\n\n";
  return body;
}

std::string Recorded(const std::string& name) {
  std::ifstream in(std::string(CHATBATCH_TEST_DATA) + "/streams/" + name,
                   std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class CountingListener final : public SseFramer::Listener {
 public:
  void OnEvent(const SseEvent&) override { ++events; }
  int64_t events = 0;
};

// The body as the transport hands it over: reads of "piece" bytes.
template <typename Feed>
void FeedPieces(const std::string& body, size_t piece, Feed feed) {
  for (size_t pos = 0; pos < body.size(); pos += piece) {
    feed(std::string_view(body).substr(pos, piece));
  }
}

void BM_Framer(benchmark::State& state) {
  const std::string body = G4fStream(1000);
  const auto piece = static_cast<size_t>(state.range(0));
  CountingListener listener;
  SseFramer framer(&listener, 8 << 20);
  for (auto _ : state) {
    framer.Reset();
    FeedPieces(body, piece, [&](std::string_view p) { framer.Feed(p); });
    framer.Finish();
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations() * 1001);
}
BENCHMARK(BM_Framer)->Arg(16384)->Arg(1500);

void DecodeAll(benchmark::State& state, const std::string& body, size_t piece) {
  ResponseDecoder decoder;
  decoder.Begin(200, "text/event-stream");
  decoder.Feed(body);
  const int64_t chunks = decoder.Finish().value_or(Reply{}).chunks;
  const int64_t allocations_before = g_allocations.load();
  for (auto _ : state) {
    decoder.Begin(200, "text/event-stream");
    FeedPieces(body, piece, [&](std::string_view p) { decoder.Feed(p); });
    auto reply = decoder.Finish();
    benchmark::DoNotOptimize(reply);
    if (!reply) state.SkipWithError(reply.error().message.c_str());
  }
  // Per chunk, over whole responses (Finish hands out a copy of the reply).
  state.counters["allocs_per_chunk"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - allocations_before) /
      static_cast<double>(state.iterations() * chunks));
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(body.size()));
  state.SetItemsProcessed(state.iterations() * chunks);
}

void BM_FramerDecoderG4f(benchmark::State& state) {
  DecodeAll(state, G4fStream(1000), static_cast<size_t>(state.range(0)));
}
BENCHMARK(BM_FramerDecoderG4f)->Arg(16384)->Arg(1500);

void BM_FramerDecoderRecorded(benchmark::State& state, const char* name) {
  DecodeAll(state, Recorded(name), 16384);
}
BENCHMARK_CAPTURE(BM_FramerDecoderRecorded, g4f_copilot, "g4f_copilot.sse");
BENCHMARK_CAPTURE(BM_FramerDecoderRecorded, llama_cpp, "llama_cpp.sse");
BENCHMARK_CAPTURE(BM_FramerDecoderRecorded, openai_usage,
                  "openai_include_usage.sse");

}  // namespace
}  // namespace chatbatch

int main(int argc, char** argv) {
  spdlog::set_level(spdlog::level::off);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
