#include "svg_layout.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>

namespace bridges::testing {
namespace {

constexpr double kPi = 3.14159265358979323846;

struct Point {
  double x, y;
};
using Quad = std::array<Point, 4>;

struct Tag {
  std::string name;
  std::map<std::string, std::string> attributes;
  bool closing = false, self_closing = false;
  std::size_t end = 0;  // one past '>'
};

// The tag starting at html[at] == '<'.
std::optional<Tag> read_tag(const std::string& html, std::size_t at) {
  const std::size_t close = html.find('>', at);
  if (close == std::string::npos) return std::nullopt;
  Tag tag;
  tag.end = close + 1;
  std::size_t i = at + 1;
  if (html[i] == '/') {
    tag.closing = true;
    ++i;
  }
  const std::size_t name_end = html.find_first_of(" \t\n/>", i);
  tag.name = html.substr(i, name_end - i);
  i = name_end;
  while (i < close) {
    while (i < close && (html[i] == ' ' || html[i] == '\n' || html[i] == '\t')) ++i;
    if (i >= close) break;
    if (html[i] == '/') {
      tag.self_closing = true;
      ++i;
      continue;
    }
    const std::size_t eq = html.find('=', i);
    if (eq == std::string::npos || eq > close || html[eq + 1] != '"') return std::nullopt;
    const std::size_t quote = html.find('"', eq + 2);
    if (quote == std::string::npos) return std::nullopt;
    tag.attributes[html.substr(i, eq - i)] = html.substr(eq + 2, quote - eq - 2);
    i = quote + 1;
  }
  return tag;
}

std::size_t characters(const std::string& s) {
  std::size_t n = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {  // an entity is one character
      const std::size_t semicolon = s.find(';', i);
      if (semicolon != std::string::npos && semicolon - i <= 8) i = semicolon;
    }
    if ((static_cast<unsigned char>(s[i]) & 0xC0) != 0x80) ++n;
  }
  return n;
}

double attribute(const Tag& tag, const std::string& name, double fallback) {
  const auto it = tag.attributes.find(name);
  return it == tag.attributes.end() ? fallback : std::atof(it->second.c_str());
}

// The rotated rectangle a text covers.
Quad text_box(const Tag& tag, const std::string& content, double font_size) {
  double x = attribute(tag, "x", 0), y = attribute(tag, "y", 0), degrees = 0;
  if (const auto it = tag.attributes.find("transform"); it != tag.attributes.end()) {
    double tx = 0, ty = 0, r = 0;
    if (std::sscanf(it->second.c_str(), "translate(%lf,%lf) rotate(%lf)", &tx, &ty, &r) >= 2) {
      x += tx;
      y += ty;
      degrees = r;
    }
  }
  const double width = 0.6 * font_size * static_cast<double>(characters(content));
  const std::string anchor = tag.attributes.count("text-anchor") ? tag.attributes.at("text-anchor") : "start";
  const double start = anchor == "end" ? -width : anchor == "middle" ? -width / 2 : 0.0;
  const double a = degrees * kPi / 180, c = std::cos(a), s = std::sin(a);
  const auto at = [&](double u, double v) { return Point{x + u * c - v * s, y + u * s + v * c}; };
  const double above = -0.75 * font_size, below = 0.25 * font_size;
  return {at(start, above), at(start + width, above), at(start + width, below), at(start, below)};
}

// Whether two convex quadrilaterals overlap by more than a hair (separating axes).
bool overlap(const Quad& p, const Quad& q) {
  for (const Quad* shape : {&p, &q})
    for (int e = 0; e < 4; ++e) {
      const Point a = (*shape)[e], b = (*shape)[(e + 1) % 4];
      const Point axis{-(b.y - a.y), b.x - a.x};
      const double length = std::hypot(axis.x, axis.y);
      if (length == 0) continue;
      const auto project = [&](const Quad& r) {
        double lo = INFINITY, hi = -INFINITY;
        for (const Point& v : r) {
          const double t = (v.x * axis.x + v.y * axis.y) / length;
          lo = std::min(lo, t);
          hi = std::max(hi, t);
        }
        return std::pair{lo, hi};
      };
      const auto [plo, phi] = project(p);
      const auto [qlo, qhi] = project(q);
      if (phi <= qlo + 0.5 || qhi <= plo + 0.5) return false;
    }
  return true;
}

}  // namespace

SvgSummary check_svg_layout(const std::string& html) {
  SvgSummary out;
  std::size_t at = 0;
  while ((at = html.find("<svg", at)) != std::string::npos) {
    ++out.svgs;
    const std::string where = "svg #" + std::to_string(out.svgs);
    const auto root = read_tag(html, at);
    if (!root) {
      out.problems.push_back(where + ": unreadable <svg> tag");
      break;
    }
    double vw = 0, vh = 0;
    if (!root->attributes.count("viewBox") ||
        std::sscanf(root->attributes.at("viewBox").c_str(), "0 0 %lf %lf", &vw, &vh) != 2)
    {
      out.problems.push_back(where + ": no viewBox \"0 0 w h\"");
      vw = attribute(*root, "width", 0);  // what is drawn without one
      vh = attribute(*root, "height", 0);
    }
    const double font_size = attribute(*root, "font-size", 16);
    std::vector<std::string> open{"svg"};
    std::vector<std::pair<Quad, std::string>> boxes;
    std::size_t i = root->end;
    while (!open.empty()) {
      const std::size_t lt = html.find('<', i);
      if (lt == std::string::npos) {
        out.problems.push_back(where + ": ends inside <" + open.back() + ">");
        break;
      }
      const auto tag = read_tag(html, lt);
      if (!tag) {
        out.problems.push_back(where + ": malformed tag at byte " + std::to_string(lt));
        break;
      }
      i = tag->end;
      if (tag->closing) {
        if (open.back() != tag->name) {
          out.problems.push_back(where + ": </" + tag->name + "> closes <" + open.back() + ">");
          break;
        }
        open.pop_back();
        continue;
      }
      if (tag->name == "text" && !tag->self_closing) {
        const std::size_t end = html.find("</text>", i);
        if (end == std::string::npos) continue;  // reported as unclosed below
        const std::string content = html.substr(i, end - i);
        const bool tooltip = std::find(open.begin(), open.end(), "title") != open.end();
        if (!tooltip && !content.empty()) {
          ++out.texts;
          const double size = attribute(*tag, "font-size", font_size);
          const Quad box = text_box(*tag, content, size);
          for (const Point& p : box)
            if (p.x < -0.5 || p.y < -0.5 || p.x > vw + 0.5 || p.y > vh + 0.5) {
              char buffer[160];
              std::snprintf(buffer, sizeof buffer, ": text \"%s\" reaches (%.0f, %.0f), outside the viewBox %.0f x %.0f",
                            content.c_str(), p.x, p.y, vw, vh);
              out.problems.push_back(where + buffer);
              break;
            }
          for (const auto& [other, other_text] : boxes)
            if (overlap(box, other))
              out.problems.push_back(where + ": text \"" + content + "\" overlaps \"" + other_text + "\"");
          boxes.emplace_back(box, content);
        }
        i = end + 7;
        continue;
      }
      if (!tag->self_closing) open.push_back(tag->name);
    }
    at = i;
  }
  return out;
}

}  // namespace bridges::testing
