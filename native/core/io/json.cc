#include "core/io/json.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <stdexcept>

namespace imlm::json {
namespace {

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options) : text_(text), options_(options) {}

  Value parseDocument() {
    Value v = parseValue(0);
    skipSpace();
    if (pos_ != text_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(what + " at byte " + std::to_string(pos_));
  }

  [[noreturn]] void failLimit(LimitExceeded::Bound bound, const std::string& what) const {
    throw LimitExceeded(bound, what + " at byte " + std::to_string(pos_));
  }

  /** Refuses the `members`-th member (or element) of a container at `depth` past the top-level bound. */
  void countMember(int depth, size_t members) {
    if (depth == 0 && members > options_.maxTopLevelMembers) {
      failLimit(LimitExceeded::Bound::kTopLevelMembers, "more than " + std::to_string(options_.maxTopLevelMembers) + " top-level members");
    }
  }

  /**
   * Refuses an object whose keys repeat: sorts indices by key (O(n log n), whatever the keys)
   * and compares neighbours; reports the later occurrence in file order.
   */
  void checkDuplicateKeys(const Value& v, const std::vector<size_t>& keyPositions) {
    const auto& members = v.object;
    if (members.size() < 2) return;
    std::vector<size_t> order(members.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return members[a].first < members[b].first; });
    for (size_t i = 1; i < order.size(); ++i) {
      if (members[order[i]].first == members[order[i - 1]].first) {
        pos_ = keyPositions[order[i]];
        fail("duplicate key \"" + printable(members[order[i]].first) + "\" (a key may appear once per object)");
      }
    }
  }

  /** A key as an error message may quote it: at most 80 bytes, control characters escaped. */
  static std::string printable(const std::string& key) {
    std::string out;
    for (const char c : key.substr(0, 80)) {
      if (static_cast<unsigned char>(c) < 0x20 || c == '"' || c == '\\') {
        out += "\\x";
        out += "0123456789abcdef"[(c >> 4) & 0xF];
        out += "0123456789abcdef"[c & 0xF];
      } else {
        out += c;
      }
    }
    if (key.size() > 80) out += "...";
    return out;
  }

  void skipSpace() {
    while (pos_ < text_.size() && (text_[pos_] == ' ' || text_[pos_] == '\n' || text_[pos_] == '\r' ||
                                   text_[pos_] == '\t')) {
      ++pos_;
    }
  }

  char peek() {
    skipSpace();
    if (pos_ >= text_.size()) fail("unexpected end of JSON");
    return text_[pos_];
  }

  void expect(char c) {
    if (peek() != c) fail(std::string("expected '") + c + "'");
    ++pos_;
  }

  bool consumeLiteral(std::string_view word) {
    if (text_.substr(pos_, word.size()) == word) {
      pos_ += word.size();
      return true;
    }
    return false;
  }

  Value parseValue(int depth) {
    if (depth > options_.maxDepth) fail("JSON nested too deeply");
    if (++values_ > options_.maxValues) {
      failLimit(LimitExceeded::Bound::kValues, "more than " + std::to_string(options_.maxValues) + " JSON values");
    }
    Value v;
    const char c = peek();
    if (c == '{') {
      v.kind = Value::Kind::kObject;
      ++pos_;
      if (peek() == '}') {
        ++pos_;
        return v;
      }
      std::vector<size_t> keyPositions;
      while (true) {
        if (peek() != '"') fail("expected a string key");
        countMember(depth, v.object.size() + 1);
        keyPositions.push_back(pos_);
        std::string key = parseString();
        expect(':');
        v.object.emplace_back(std::move(key), parseValue(depth + 1));
        const char next = peek();
        ++pos_;
        if (next == '}') {
          if (options_.rejectDuplicateKeys) checkDuplicateKeys(v, keyPositions);
          return v;
        }
        if (next != ',') fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.kind = Value::Kind::kArray;
      ++pos_;
      if (peek() == ']') {
        ++pos_;
        return v;
      }
      while (true) {
        countMember(depth, v.array.size() + 1);
        v.array.push_back(parseValue(depth + 1));
        const char next = peek();
        ++pos_;
        if (next == ']') return v;
        if (next != ',') fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.kind = Value::Kind::kString;
      v.string = parseString();
      return v;
    }
    if (consumeLiteral("true")) {
      v.kind = Value::Kind::kBool;
      v.boolean = true;
      return v;
    }
    if (consumeLiteral("false")) {
      v.kind = Value::Kind::kBool;
      return v;
    }
    if (consumeLiteral("null")) return v;
    if (c == '-' || (c >= '0' && c <= '9')) return parseNumber();
    fail("unexpected character");
  }

  Value parseNumber() {
    const size_t start = pos_;
    if (text_[pos_] == '-') ++pos_;
    bool integral = true;
    auto digits = [&] {
      const size_t from = pos_;
      while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') ++pos_;
      if (pos_ == from) fail("malformed number");
    };
    digits();
    if (pos_ < text_.size() && text_[pos_] == '.') {
      integral = false;
      ++pos_;
      digits();
    }
    if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
      integral = false;
      ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
      digits();
    }
    const std::string literal(text_.substr(start, pos_ - start));
    Value v;
    v.kind = Value::Kind::kNumber;
    v.number = std::strtod(literal.c_str(), nullptr);
    if (integral) {
      errno = 0;
      const long long parsed = std::strtoll(literal.c_str(), nullptr, 10);
      if (errno == ERANGE) fail("integer out of range");
      v.isInteger = true;
      v.integer = parsed;
    }
    return v;
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  uint32_t parseHex4() {
    if (pos_ + 4 > text_.size()) fail("truncated \\u escape");
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i) {
      const char h = text_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= static_cast<uint32_t>(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= static_cast<uint32_t>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= static_cast<uint32_t>(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return cp;
  }

  /**
   * Copies one well-formed UTF-8 sequence (2 to 4 bytes, no overlong forms, no surrogates,
   * nothing above U+10FFFF) from the text to `out`; anything else is an error, so every
   * string maps to exactly one JavaScript string.
   */
  void copyUtf8Sequence(std::string& out) {
    const auto byte = [&](size_t i) -> unsigned {
      return pos_ + i < text_.size() ? static_cast<unsigned char>(text_[pos_ + i]) : 0u;
    };
    const unsigned lead = byte(0);
    size_t length = 0;
    unsigned low = 0x80, high = 0xBF;  // bounds of the second byte
    if (lead >= 0xC2 && lead <= 0xDF) {
      length = 2;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
      length = 3;
      if (lead == 0xE0) low = 0xA0;   // overlong
      if (lead == 0xED) high = 0x9F;  // surrogates
    } else if (lead >= 0xF0 && lead <= 0xF4) {
      length = 4;
      if (lead == 0xF0) low = 0x90;   // overlong
      if (lead == 0xF4) high = 0x8F;  // above U+10FFFF
    } else {
      fail("invalid UTF-8 in string");
    }
    if (byte(1) < low || byte(1) > high) fail("invalid UTF-8 in string");
    for (size_t i = 2; i < length; ++i) {
      if (byte(i) < 0x80 || byte(i) > 0xBF) fail("invalid UTF-8 in string");
    }
    out.append(text_.substr(pos_, length));
    pos_ += length;
  }

  std::string parseString() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= text_.size()) fail("unterminated string");
      const char c = text_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (static_cast<unsigned char>(c) >= 0x80) {
        --pos_;
        copyUtf8Sequence(out);
        continue;
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= text_.size()) fail("unterminated escape");
      const char e = text_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = parseHex4();
          if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone surrogate");
          if (cp >= 0xD800 && cp <= 0xDBFF) {  // surrogate pair
            if (!consumeLiteral("\\u")) fail("lone surrogate");
            const uint32_t low = parseHex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          appendUtf8(out, cp);
          break;
        }
        default: fail("bad escape");
      }
    }
  }

  std::string_view text_;
  ParseOptions options_;
  size_t pos_ = 0;
  size_t values_ = 0;
};

}  // namespace

const Value* Value::find(std::string_view key) const {
  for (const auto& [k, v] : object) {
    if (k == key) return &v;
  }
  return nullptr;
}

Value parse(std::string_view text, const ParseOptions& options) { return Parser(text, options).parseDocument(); }

std::string quote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          static const char* kHex = "0123456789abcdef";
          out += "\\u00";
          out += kHex[(c >> 4) & 0xF];
          out += kHex[c & 0xF];
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

}  // namespace imlm::json
