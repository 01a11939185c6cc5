// The project's fake LLM provider: a real HTTP/1.1 server on 127.0.0.1 that
// speaks OpenAI Chat Completions (POST .../chat/completions) and Anthropic
// Messages (POST .../v1/messages), answers each request with the next scripted
// reply, and records every exchange so tests can check what was sent.
#ifndef AUTOPACK_TESTS_FAKE_PROVIDER_FAKE_PROVIDER_SERVER_H_
#define AUTOPACK_TESTS_FAKE_PROVIDER_FAKE_PROVIDER_SERVER_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "services/common/pricing.h"

namespace autopack::testing {

// Token counts the fake reports, in our terms; rendered into each wire format
// (OpenAI: prompt_tokens = input + cached, completion_tokens = output + reasoning).
struct FakeUsage {
  int64_t input = 0;
  int64_t cached = 0;
  int64_t output = 0;
  int64_t reasoning = 0;
  int64_t cache_write = 0;  // Anthropic's cache_creation_input_tokens; OpenAI has none
};

// One scripted answer.
struct FakeReply {
  enum class Kind {
    kContent,      // 200, a complete answer with `text` (JSON text for structured output)
    kTruncated,    // 200, `text` cut at the output limit (finish_reason length / stop_reason max_tokens)
    kRefusal,      // 200, the model declines with `text`
    kNullContent,  // 200, a billed answer without text (OpenAI `content: null`; Anthropic no blocks)
    kNoChoices,    // 200, billed (usage given) but unusable: OpenAI `choices: []`, Anthropic no `content`
    kHttpError,    // `status` with an error body; Retry-After when retry_after is set
    kErrorIn200,   // 200 whose body is an error object with `text`
    kInvalidJson,  // 200 with a body that is not JSON
    kHang,         // never answers (until the server stops)
  };
  Kind kind = Kind::kContent;
  std::string text;
  int status = 200;
  absl::optional<std::string> retry_after;
  FakeUsage usage;
  // False: the answer is billed (it counts in Bill()) but its body has no usage.
  bool report_usage = true;

  static FakeReply Content(std::string text, FakeUsage usage = {});
  static FakeReply Truncated(std::string partial_text, FakeUsage usage);
  static FakeReply Refusal(std::string words, FakeUsage usage = {});
  static FakeReply NullContent(FakeUsage usage = {});
  static FakeReply NoChoices(FakeUsage usage);
  static FakeReply HttpError(int status, std::string message,
                             absl::optional<std::string> retry_after = absl::nullopt);
  static FakeReply ErrorIn200(std::string message);
  static FakeReply InvalidJson();
  static FakeReply Hang();
  // A complete answer that is billed but says nothing of its usage.
  static FakeReply ContentWithoutUsage(std::string text, FakeUsage usage);
};

struct RecordedExchange {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string request_body;
  absl::Time received;
  int connection = 0;  // 1-based number of the TCP connection it came on
  int status = 0;      // 0 for a hang
  std::string response_body;
  bool openai = false;  // wire format of the request path
};

class FakeProviderServer {
 public:
  // Listens on `ipv4_host`:`port` (port 0 picks one); another host than
  // loopback only for the fake in a container, which others reach by name.
  static absl::StatusOr<std::unique_ptr<FakeProviderServer>> Start(
      const std::string& ipv4_host = "127.0.0.1", int port = 0);
  // Releases hanging requests, closes every connection, joins every thread.
  ~FakeProviderServer();

  int port() const { return port_; }
  // "http://127.0.0.1:PORT"; OpenAI base URLs add "/v1".
  std::string base_url() const;

  // Queues the reply to the next request. With none queued (and no
  // responder) the fake answers 500 "no scripted reply", so a test that calls
  // more often than it planned fails.
  void Enqueue(FakeReply reply);
  // Answers requests the queue has no reply for by looking at the request
  // (method, path, headers, body); for runs whose call order is not known in
  // advance, e.g. across supervisor crashes. Must be thread-safe.
  using Responder = std::function<FakeReply(const RecordedExchange& request)>;
  void SetResponder(Responder responder);
  std::vector<RecordedExchange> exchanges() const;
  int connections_accepted() const;
  // The fake's own bill: per "provider/model" ("openai/..." or "anthropic/..."
  // by wire format), the usage of every answer it gave that a real provider
  // bills (a 200 with an answer: content, truncated, refusal, null content),
  // whether or not the answer reported it.
  std::map<std::string, FakeUsage> Bill() const;
  // From now on, requests for a model of `catalog` ("openai/<model>" on the
  // OpenAI path, "anthropic/<model>" on Anthropic's) are checked as the real
  // providers check them, and answered 400 with the providers' own error
  // shape, before any scripted reply is used: an output limit above the
  // model's max_output_tokens; on an OpenAI reasoning model, max_tokens
  // instead of max_completion_tokens or a temperature; a json_schema
  // response_format for a model without structured output. Models not in the
  // catalog are not checked.
  void SetCatalog(PriceTable catalog);

 private:
  FakeProviderServer() = default;
  void AcceptLoop();
  void Serve(int fd, int connection);
  // Reads one request from `fd` and answers it; false when the connection ends.
  bool ServeOne(int fd, int connection, std::string* buffer);
  // Builds the HTTP response for one request; empty when it must hang.
  absl::optional<std::string> Answer(RecordedExchange* exchange);
  // The 400 message a real provider gives `body`, or empty when it is accepted.
  std::string Rejection(bool openai, const std::string& body) const;

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread acceptor_;
  mutable absl::Mutex mu_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<FakeReply> script_ ABSL_GUARDED_BY(mu_);
  Responder responder_ ABSL_GUARDED_BY(mu_);
  absl::optional<PriceTable> catalog_ ABSL_GUARDED_BY(mu_);
  std::vector<RecordedExchange> exchanges_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, FakeUsage> bill_ ABSL_GUARDED_BY(mu_);
  std::vector<int> open_fds_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(mu_);
  int connections_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace autopack::testing

#endif  // AUTOPACK_TESTS_FAKE_PROVIDER_FAKE_PROVIDER_SERVER_H_
