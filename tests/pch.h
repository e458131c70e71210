// Precompiled for the suites that test core and the CLI: torch, json and Qt Core, which every one
// of them would otherwise parse again. Not Qt Test: it comes with QT_TESTCASE_BUILDDIR defined as
// each suite's own folder, and a header precompiled under one definition is refused under another.
#pragma once
#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include <QObject>
#include <QString>

#include <map>
#include <memory>
#include <string>
#include <vector>
