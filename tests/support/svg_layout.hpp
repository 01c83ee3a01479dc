#pragma once
// What a person looking at a report's figures would object to, checked
// without a browser: every <svg> in an HTML page is well formed (tags
// balanced and nested), has a viewBox, keeps every text inside it, and no
// two texts overlap.
//
// Text boxes are estimated, as a browser would lay them out in 11 px
// sans-serif: 0.6 em per character, 0.75 em above the baseline and 0.25 em
// below it, placed by x, y, text-anchor and a transform of the form
// translate(x,y) rotate(a). Rotated texts are rotated rectangles; overlap is
// tested exactly between them (separating axes), so neighbouring rotated
// labels do not count as overlapping when only their bounding boxes do.
// Text inside <title> (a tooltip) is not drawn and is skipped.
#include <string>
#include <vector>

namespace bridges::testing {

struct SvgSummary {
  int svgs = 0;                       ///< how many <svg> elements the page has
  int texts = 0;                      ///< how many drawn <text> elements
  std::vector<std::string> problems;  ///< one sentence each; empty: all good
};

SvgSummary check_svg_layout(const std::string& html);

}  // namespace bridges::testing
