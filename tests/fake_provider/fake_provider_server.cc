#include "tests/fake_provider/fake_provider_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

namespace autopack::testing {
namespace {

using json = nlohmann::json;

bool WriteAll(int fd, const std::string& data) {
  size_t written = 0;
  while (written < data.size()) {
    const ssize_t n = send(fd, data.data() + written, data.size() - written, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    written += static_cast<size_t>(n);
  }
  return true;
}

// Reads until `buffer` holds at least `size` bytes; false on EOF or error.
bool ReadAtLeast(int fd, size_t size, std::string* buffer) {
  char chunk[8192];
  while (buffer->size() < size) {
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    buffer->append(chunk, static_cast<size_t>(n));
  }
  return true;
}

const char* Reason(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 529: return "Overloaded";
    default: return "Status";
  }
}

std::string AnthropicErrorType(int status) {
  switch (status) {
    case 400: return "invalid_request_error";
    case 401: return "authentication_error";
    case 403: return "permission_error";
    case 404: return "not_found_error";
    case 429: return "rate_limit_error";
    case 529: return "overloaded_error";
    default: return "api_error";
  }
}

std::string OpenAiErrorType(int status) {
  if (status == 429) return "rate_limit_exceeded";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

json OpenAiUsage(const FakeUsage& u) {
  return {{"prompt_tokens", u.input + u.cached},
          {"completion_tokens", u.output + u.reasoning},
          {"total_tokens", u.input + u.cached + u.output + u.reasoning},
          {"prompt_tokens_details", {{"cached_tokens", u.cached}}},
          {"completion_tokens_details", {{"reasoning_tokens", u.reasoning}}}};
}

json AnthropicUsage(const FakeUsage& u) {
  return {{"input_tokens", u.input},
          {"cache_read_input_tokens", u.cached},
          {"cache_creation_input_tokens", u.cache_write},
          {"output_tokens", u.output + u.reasoning}};
}

json OpenAiCompletion(const json& request, int id, const std::string& finish, const json& content,
                      const json& refusal, const FakeUsage& usage) {
  return {{"id", absl::StrCat("chatcmpl-fake-", id)},
          {"object", "chat.completion"},
          {"created", absl::ToUnixSeconds(absl::Now())},
          {"model", request.value("model", "unknown")},
          {"choices",
           json::array({{{"index", 0},
                         {"message",
                          {{"role", "assistant"},
                           {"content", content},
                           {"refusal", refusal},
                           {"annotations", json::array()}}},
                         {"finish_reason", finish},
                         {"logprobs", nullptr}}})},
          {"usage", OpenAiUsage(usage)}};
}

json AnthropicMessage(const json& request, int id, const std::string& stop, json content,
                      const FakeUsage& usage) {
  return {{"id", absl::StrCat("msg_fake_", id)},
          {"type", "message"},
          {"role", "assistant"},
          {"model", request.value("model", "unknown")},
          {"content", std::move(content)},
          {"stop_reason", stop},
          {"stop_sequence", nullptr},
          {"usage", AnthropicUsage(usage)}};
}

// The content blocks of a complete Anthropic answer: a tool_use block when
// the request forced a tool and the scripted text is JSON, else a text block.
json AnthropicContent(const json& request, const std::string& text) {
  if (request.contains("tool_choice") && request["tool_choice"].contains("name")) {
    json input = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!input.is_discarded()) {
      return json::array({{{"type", "tool_use"},
                           {"id", "toolu_fake"},
                           {"name", request["tool_choice"]["name"]},
                           {"input", input}}});
    }
  }
  return json::array({{{"type", "text"}, {"text", text}}});
}

}  // namespace

FakeReply FakeReply::Content(std::string text, FakeUsage usage) {
  FakeReply r;
  r.kind = Kind::kContent;
  r.text = std::move(text);
  r.usage = usage;
  return r;
}

FakeReply FakeReply::Truncated(std::string partial_text, FakeUsage usage) {
  FakeReply r = Content(std::move(partial_text), usage);
  r.kind = Kind::kTruncated;
  return r;
}

FakeReply FakeReply::Refusal(std::string words, FakeUsage usage) {
  FakeReply r = Content(std::move(words), usage);
  r.kind = Kind::kRefusal;
  return r;
}

FakeReply FakeReply::NullContent(FakeUsage usage) {
  FakeReply r = Content("", usage);
  r.kind = Kind::kNullContent;
  return r;
}

FakeReply FakeReply::NoChoices(FakeUsage usage) {
  FakeReply r = Content("", usage);
  r.kind = Kind::kNoChoices;
  return r;
}

FakeReply FakeReply::HttpError(int status, std::string message,
                               absl::optional<std::string> retry_after) {
  FakeReply r;
  r.kind = Kind::kHttpError;
  r.status = status;
  r.text = std::move(message);
  r.retry_after = std::move(retry_after);
  return r;
}

FakeReply FakeReply::ErrorIn200(std::string message) {
  FakeReply r;
  r.kind = Kind::kErrorIn200;
  r.text = std::move(message);
  return r;
}

FakeReply FakeReply::InvalidJson() {
  FakeReply r;
  r.kind = Kind::kInvalidJson;
  return r;
}

FakeReply FakeReply::ContentWithoutUsage(std::string text, FakeUsage usage) {
  FakeReply r = Content(std::move(text), usage);
  r.report_usage = false;
  return r;
}

std::map<std::string, FakeUsage> FakeProviderServer::Bill() const {
  absl::MutexLock lock(&mu_);
  return bill_;
}

FakeReply FakeReply::Hang() {
  FakeReply r;
  r.kind = Kind::kHang;
  return r;
}

absl::StatusOr<std::unique_ptr<FakeProviderServer>> FakeProviderServer::Start(const std::string& ipv4_host,
                                                                      int port) {
  std::unique_ptr<FakeProviderServer> server(new FakeProviderServer);
  server->listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server->listen_fd_ < 0) return absl::InternalError("socket failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  if (inet_pton(AF_INET, ipv4_host.c_str(), &address.sin_addr) != 1) {
    return absl::InvalidArgumentError(absl::StrCat("'", ipv4_host, "' is not an IPv4 address"));
  }
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(server->listen_fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
      listen(server->listen_fd_, 64) != 0) {
    return absl::InternalError(absl::StrCat("bind/listen failed: ", strerror(errno)));
  }
  socklen_t length = sizeof(address);
  getsockname(server->listen_fd_, reinterpret_cast<sockaddr*>(&address), &length);
  server->port_ = ntohs(address.sin_port);
  server->acceptor_ = std::thread([s = server.get()] { s->AcceptLoop(); });
  return server;
}

FakeProviderServer::~FakeProviderServer() {
  std::vector<std::thread> workers;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    for (int fd : open_fds_) shutdown(fd, SHUT_RDWR);
  }
  shutdown(listen_fd_, SHUT_RDWR);
  if (acceptor_.joinable()) acceptor_.join();
  close(listen_fd_);
  {
    absl::MutexLock lock(&mu_);
    workers.swap(workers_);
  }
  for (std::thread& worker : workers) worker.join();
}

std::string FakeProviderServer::base_url() const { return absl::StrCat("http://127.0.0.1:", port_); }

void FakeProviderServer::Enqueue(FakeReply reply) {
  absl::MutexLock lock(&mu_);
  script_.push_back(std::move(reply));
}

std::vector<RecordedExchange> FakeProviderServer::exchanges() const {
  absl::MutexLock lock(&mu_);
  return exchanges_;
}

int FakeProviderServer::connections_accepted() const {
  absl::MutexLock lock(&mu_);
  return connections_;
}

void FakeProviderServer::AcceptLoop() {
  while (true) {
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR) continue;
      return;  // shut down
    }
    absl::MutexLock lock(&mu_);
    if (stopping_) {
      close(fd);
      return;
    }
    open_fds_.push_back(fd);
    const int connection = ++connections_;
    workers_.emplace_back([this, fd, connection] { Serve(fd, connection); });
  }
}

void FakeProviderServer::Serve(int fd, int connection) {
  std::string buffer;
  while (ServeOne(fd, connection, &buffer)) {
  }
  absl::MutexLock lock(&mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
  close(fd);
}

bool FakeProviderServer::ServeOne(int fd, int connection, std::string* buffer) {
  size_t header_end;
  while ((header_end = buffer->find("\r\n\r\n")) == std::string::npos) {
    if (!ReadAtLeast(fd, buffer->size() + 1, buffer)) return false;
  }
  RecordedExchange exchange;
  exchange.connection = connection;
  exchange.received = absl::Now();
  std::vector<std::string> lines = absl::StrSplit(buffer->substr(0, header_end), "\r\n");
  std::vector<std::string> request_line = absl::StrSplit(lines[0], ' ');
  if (request_line.size() < 2) return false;
  exchange.method = request_line[0];
  exchange.path = request_line[1];
  for (size_t i = 1; i < lines.size(); ++i) {
    const size_t colon = lines[i].find(':');
    if (colon == std::string::npos) continue;
    exchange.headers[absl::AsciiStrToLower(lines[i].substr(0, colon))] =
        std::string(absl::StripAsciiWhitespace(lines[i].substr(colon + 1)));
  }
  size_t length = 0;
  if (exchange.headers.count("content-length") &&
      !absl::SimpleAtoi(exchange.headers["content-length"], &length)) {
    return false;
  }
  if (absl::EqualsIgnoreCase(exchange.headers["expect"], "100-continue") &&
      !WriteAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) {
    return false;
  }
  const size_t body_start = header_end + 4;
  if (!ReadAtLeast(fd, body_start + length, buffer)) return false;
  exchange.request_body = buffer->substr(body_start, length);
  buffer->erase(0, body_start + length);

  const absl::optional<std::string> response = Answer(&exchange);
  const bool close_after = absl::EqualsIgnoreCase(exchange.headers["connection"], "close");
  {
    absl::MutexLock lock(&mu_);
    exchanges_.push_back(exchange);
    if (!response) {
      // A hang: hold the connection open, unanswered, until the server stops.
      mu_.Await(absl::Condition(&stopping_));
      return false;
    }
  }
  return WriteAll(fd, *response) && !close_after;
}

void FakeProviderServer::SetCatalog(PriceTable catalog) {
  absl::MutexLock lock(&mu_);
  catalog_ = std::move(catalog);
}

std::string FakeProviderServer::Rejection(bool openai, const std::string& text) const {
  const json request = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!request.is_object() || !request.contains("model") || !request["model"].is_string()) {
    return "";
  }
  const std::string name = request["model"].get<std::string>();
  absl::StatusOr<ModelInfo> info;
  {
    absl::MutexLock lock(&mu_);
    if (!catalog_.has_value()) return "";
    info = catalog_->Info(absl::StrCat(openai ? "openai/" : "anthropic/", name));
  }
  if (!info.ok()) return "";
  const auto limit_of = [&](const char* key) -> int64_t {
    return request.contains(key) && request[key].is_number_integer() ? request[key].get<int64_t>()
                                                                     : 0;
  };
  if (!openai) {
    const int64_t asked = limit_of("max_tokens");
    if (asked > info->max_output_tokens) {
      return absl::StrCat("max_tokens: ", asked, " > ", info->max_output_tokens,
                          ", which is the maximum allowed number of output tokens for ", name);
    }
    return "";
  }
  // Wording as OpenAI's API answers these (2025-2026).
  if (info->reasoning && request.contains("max_tokens")) {
    return "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
           "'max_completion_tokens' instead.";
  }
  if (info->reasoning && request.contains("temperature")) {
    return "Unsupported parameter: 'temperature' is not supported with this model.";
  }
  const int64_t asked = std::max(limit_of("max_tokens"), limit_of("max_completion_tokens"));
  if (asked > info->max_output_tokens) {
    return absl::StrCat("max_tokens is too large: ", asked, ". This model supports at most ",
                        info->max_output_tokens, " completion tokens, whereas you provided ",
                        asked, ".");
  }
  if (!info->structured_output && request.contains("response_format") &&
      request["response_format"].value("type", "") == "json_schema") {
    return "Invalid parameter: 'response_format' of type 'json_schema' is not supported with "
           "this model.";
  }
  return "";
}

void FakeProviderServer::SetResponder(Responder responder) {
  absl::MutexLock lock(&mu_);
  responder_ = std::move(responder);
}

absl::optional<std::string> FakeProviderServer::Answer(RecordedExchange* exchange) {
  exchange->openai = absl::EndsWith(exchange->path, "/chat/completions");
  const bool anthropic = absl::EndsWith(exchange->path, "/v1/messages");
  FakeReply reply;
  int id = 0;
  const std::string rejection =
      exchange->openai || anthropic ? Rejection(exchange->openai, exchange->request_body) : "";
  if (!rejection.empty()) {
    // Refused before the model runs: unbilled, and no scripted reply is used.
    reply = FakeReply::HttpError(400, rejection);
  } else {
    absl::MutexLock lock(&mu_);
    id = static_cast<int>(exchanges_.size()) + 1;
    if (script_.empty()) {
      reply = responder_ ? responder_(*exchange)
                         : FakeReply::HttpError(500, "fake provider: no scripted reply");
    } else {
      reply = std::move(script_.front());
      script_.pop_front();
    }
  }
  const json request = json::parse(exchange->request_body, nullptr, /*allow_exceptions=*/false);
  int status = 200;
  std::string body;
  std::string extra_headers;
  if (!exchange->openai && !anthropic) {
    status = 404;
    body = json{{"error", {{"message", "fake provider: unknown path " + exchange->path}}}}.dump();
  } else if (request.is_discarded()) {
    status = 400;
    body = json{{"error", {{"message", "fake provider: request body is not JSON"}}}}.dump();
  } else {
    switch (reply.kind) {
      case FakeReply::Kind::kHang:
        return absl::nullopt;
      case FakeReply::Kind::kContent:
        body = exchange->openai
                   ? OpenAiCompletion(request, id, "stop", reply.text, nullptr, reply.usage).dump()
                   : AnthropicMessage(request, id,
                                      request.contains("tool_choice") ? "tool_use" : "end_turn",
                                      AnthropicContent(request, reply.text), reply.usage)
                         .dump();
        break;
      case FakeReply::Kind::kTruncated:
        body = exchange->openai
                   ? OpenAiCompletion(request, id, "length", reply.text, nullptr, reply.usage).dump()
                   : AnthropicMessage(request, id, "max_tokens",
                                      json::array({{{"type", "text"}, {"text", reply.text}}}),
                                      reply.usage)
                         .dump();
        break;
      case FakeReply::Kind::kRefusal:
        body = exchange->openai
                   ? OpenAiCompletion(request, id, "stop", nullptr, reply.text, reply.usage).dump()
                   : AnthropicMessage(request, id, "refusal",
                                      json::array({{{"type", "text"}, {"text", reply.text}}}),
                                      reply.usage)
                         .dump();
        break;
      case FakeReply::Kind::kNullContent:
        body = exchange->openai
                   ? OpenAiCompletion(request, id, "stop", nullptr, nullptr, reply.usage).dump()
                   : AnthropicMessage(request, id, "end_turn", json::array(), reply.usage).dump();
        break;
      case FakeReply::Kind::kNoChoices: {
        json unusable = exchange->openai ? OpenAiCompletion(request, id, "stop", nullptr, nullptr, reply.usage)
                                         : AnthropicMessage(request, id, "end_turn", json::array(), reply.usage);
        if (exchange->openai) {
          unusable["choices"] = json::array();
        } else {
          unusable.erase("content");
        }
        body = unusable.dump();
        break;
      }
      case FakeReply::Kind::kHttpError:
      case FakeReply::Kind::kErrorIn200: {
        const bool in_200 = reply.kind == FakeReply::Kind::kErrorIn200;
        status = in_200 ? 200 : reply.status;
        const int error_status = in_200 ? 500 : reply.status;
        body = exchange->openai
                   ? json{{"error",
                           {{"message", reply.text},
                            {"type", OpenAiErrorType(error_status)},
                            {"param", nullptr},
                            {"code", error_status == 400 ? json("invalid_value") : json(nullptr)}}}}
                         .dump()
                   : json{{"type", "error"},
                          {"error",
                           {{"type", AnthropicErrorType(in_200 ? 529 : error_status)},
                            {"message", reply.text}}}}
                         .dump();
        if (reply.retry_after) extra_headers = absl::StrCat("Retry-After: ", *reply.retry_after, "\r\n");
        break;
      }
      case FakeReply::Kind::kInvalidJson:
        body = "{\"id\": \"chatcmpl-fake\", \"choices\": [{\"index\": 0, \"message\": ";
        break;
    }
  }
  const bool billed = status == 200 && (reply.kind == FakeReply::Kind::kContent ||
                                        reply.kind == FakeReply::Kind::kTruncated ||
                                        reply.kind == FakeReply::Kind::kRefusal ||
                                        reply.kind == FakeReply::Kind::kNullContent ||
                                        reply.kind == FakeReply::Kind::kNoChoices);
  if (billed) {
    if (!reply.report_usage) {
      json parsed = json::parse(body);
      parsed.erase("usage");
      body = parsed.dump();
    }
    absl::MutexLock lock(&mu_);
    FakeUsage& total = bill_[absl::StrCat(exchange->openai ? "openai/" : "anthropic/",
                                          request.value("model", "unknown"))];
    total.input += reply.usage.input;
    total.cached += reply.usage.cached;
    total.output += reply.usage.output;
    total.reasoning += reply.usage.reasoning;
    total.cache_write += reply.usage.cache_write;
  }
  exchange->status = status;
  exchange->response_body = body;
  return absl::StrCat("HTTP/1.1 ", status, " ", Reason(status), "\r\n",
                      "Content-Type: application/json\r\n", "Content-Length: ", body.size(),
                      "\r\n", extra_headers, "Connection: keep-alive\r\n\r\n", body);
}

}  // namespace autopack::testing
