// Numbers in error messages: nine significant digits, so a float32 prints exactly and a tiny
// or huge value stays readable ("1.17549435e-38", not "0.000000").
#pragma once

#include <cstdio>
#include <string>

namespace quantlab {

inline std::string number_string(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace quantlab
