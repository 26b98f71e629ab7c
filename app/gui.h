#pragma once
// The desktop console's start: decides demo or live mode, builds the transport, dispatcher and main window,
// and runs the application's event loop.

#include "config.h"

namespace sluice {

// Creates the QApplication (a display is needed from here on) and returns its exit code.
int runGui(int &argc, char **argv, const Config &config);

} // namespace sluice
