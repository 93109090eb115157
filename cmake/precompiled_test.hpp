// The test targets' precompiled header: the production one plus GoogleTest.
#pragma once

#include <gtest/gtest.h>

#include "precompiled.hpp"
