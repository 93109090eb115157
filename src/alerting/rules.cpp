#include "alerting/alerting.hpp"
