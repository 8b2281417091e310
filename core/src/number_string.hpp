// Numbers in messages: nine significant digits by default, so a float32 prints exactly and
// a tiny or huge value stays readable ("1.17549435e-38", not "0.000000"); fewer for notes
// meant for reading.
#pragma once

#include <cstdio>
#include <string>

namespace quantlab {

inline std::string number_string(double v, int digits = 9) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.*g", digits, v);
  return buf;
}

}  // namespace quantlab
