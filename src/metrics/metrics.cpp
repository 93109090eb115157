#include "metrics/metrics.hpp"

#include <dirent.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <mutex>
#include <sstream>

namespace honeyman::metrics {
namespace {

std::atomic<bool> g_enabled{true};

prometheus::Registry& registry() {
  static auto* r = new prometheus::Registry();  // never destroyed: handles outlive main
  return *r;
}

struct Watched {
  std::uint64_t id;
  std::string name, help;
  Kind kind;
  std::function<double()> read;
  std::vector<std::pair<std::string, std::string>> labels;
};
struct Watches {
  std::mutex mutex;
  std::uint64_t next = 1;
  std::vector<Watched> list;  // in registration order; one family's series are kept together
};
Watches& watches() {
  static auto* w = new Watches();
  return *w;
}

// Prometheus label value escaping: backslash, double quote, newline.
std::string escape_label(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void append_watched(std::string& out) {
  auto& w = watches();
  std::lock_guard lock(w.mutex);
  std::vector<const Watched*> sorted;
  for (const auto& x : w.list) sorted.push_back(&x);
  std::stable_sort(sorted.begin(), sorted.end(),
                   [](const Watched* a, const Watched* b) { return a->name < b->name; });
  std::string last;
  std::ostringstream s;
  s.precision(17);
  for (const auto* x : sorted) {
    if (x->name != last) {
      s << "# HELP " << x->name << ' ' << x->help << "\n# TYPE " << x->name << ' '
        << (x->kind == Kind::counter ? "counter" : "gauge") << '\n';
      last = x->name;
    }
    s << x->name;
    if (!x->labels.empty()) {
      s << '{';
      bool first = true;
      for (const auto& [k, v] : x->labels) {
        s << (first ? "" : ",") << k << "=\"" << escape_label(v) << '"';
        first = false;
      }
      s << '}';
    }
    s << ' ' << x->read() << '\n';
  }
  out += s.str();
}

prometheus::Labels to_labels(Labels labels) {
  prometheus::Labels out;
  for (const auto& [k, v] : labels) out.emplace(k, v);
  return out;
}

// Process facts from /proc (Linux). Absent files leave a fact out rather than report zero.
struct ProcessFacts {
  double cpu_seconds = -1, rss_bytes = -1, start_time = -1, threads = -1, open_fds = -1,
         max_fds = -1;
};

double boot_time() {
  std::ifstream stat("/proc/stat");
  std::string key;
  double value = 0;
  while (stat >> key) {
    if (key == "btime" && (stat >> value)) return value;
    stat.ignore(4096, '\n');
  }
  return -1;
}

ProcessFacts read_process() {
  ProcessFacts f;
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream in("/proc/self/stat");
  std::string line;
  if (std::getline(in, line)) {
    // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::vector<std::string> fields;  // fields[0] is field 3 (state)
    for (std::string field; rest >> field;) fields.push_back(field);
    if (fields.size() > 21) {
      f.cpu_seconds = (std::stod(fields[11]) + std::stod(fields[12])) / ticks;  // utime + stime
      f.threads = std::stod(fields[17]);
      if (auto boot = boot_time(); boot >= 0) f.start_time = boot + std::stod(fields[19]) / ticks;
      f.rss_bytes = std::stod(fields[21]) * static_cast<double>(sysconf(_SC_PAGESIZE));
    }
  }
  if (DIR* dir = opendir("/proc/self/fd")) {
    double n = 0;
    while (dirent* e = readdir(dir))
      if (e->d_name[0] != '.') ++n;
    closedir(dir);
    f.open_fds = n - 1;  // the directory's own descriptor
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) f.max_fds = static_cast<double>(limit.rlim_cur);
  return f;
}

void append_fact(std::string& out, const char* name, const char* type, const char* help,
                 double value) {
  if (value < 0) return;
  std::ostringstream s;
  s.precision(17);
  s << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n'
    << name << ' ' << value << '\n';
  out += s.str();
}

}  // namespace

void set_enabled(bool enabled) {
  g_enabled = enabled;
}
bool enabled() {
  return g_enabled;
}

void Counter::inc(double v) const {
  if (c_) c_->Increment(v);
}
void Gauge::set(double v) const {
  if (g_) g_->Set(v);
}
void Gauge::inc(double v) const {
  if (g_) g_->Increment(v);
}
void Gauge::dec(double v) const {
  if (g_) g_->Decrement(v);
}
void Histogram::observe(double v) const {
  if (h_) h_->Observe(v);
}

Counter CounterFamily::with(Labels labels) const {
  return f_ ? Counter(&f_->Add(to_labels(labels))) : Counter();
}
Gauge GaugeFamily::with(Labels labels) const {
  return f_ ? Gauge(&f_->Add(to_labels(labels))) : Gauge();
}
Histogram HistogramFamily::with(Labels labels) const {
  if (!f_) return Histogram();
  return Histogram(&f_->Add(to_labels(labels), prometheus::Histogram::BucketBoundaries(buckets_)));
}

CounterFamily counter(const std::string& name, const std::string& help) {
  if (!enabled()) return CounterFamily();
  return CounterFamily(&prometheus::BuildCounter().Name(name).Help(help).Register(registry()));
}
GaugeFamily gauge(const std::string& name, const std::string& help) {
  if (!enabled()) return GaugeFamily();
  return GaugeFamily(&prometheus::BuildGauge().Name(name).Help(help).Register(registry()));
}
HistogramFamily histogram(const std::string& name, const std::string& help,
                          std::vector<double> buckets) {
  if (!enabled()) return HistogramFamily();
  return HistogramFamily(&prometheus::BuildHistogram().Name(name).Help(help).Register(registry()),
                         std::move(buckets));
}

std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
}
std::vector<double> size_buckets() {
  return {1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 10000};
}

Watch::Watch(std::string name, std::string help, Kind kind, std::function<double()> read,
             std::vector<std::pair<std::string, std::string>> labels) {
  if (!enabled()) return;
  auto& w = watches();
  std::lock_guard lock(w.mutex);
  id_ = w.next++;
  w.list.push_back(
      {id_, std::move(name), std::move(help), kind, std::move(read), std::move(labels)});
}

Watch::~Watch() {
  if (id_ == 0) return;
  auto& w = watches();
  std::lock_guard lock(w.mutex);
  std::erase_if(w.list, [&](const Watched& x) { return x.id == id_; });
}

Watch::Watch(Watch&& other) noexcept : id_(std::exchange(other.id_, 0)) {}
Watch& Watch::operator=(Watch&& other) noexcept {
  if (this != &other) {
    Watch gone(std::move(*this));
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

std::string scrape() {
  auto out = prometheus::TextSerializer().Serialize(registry().Collect());
  append_watched(out);
  auto p = read_process();
  append_fact(out, "process_cpu_seconds_total", "counter",
              "Total user and system CPU time spent in seconds.", p.cpu_seconds);
  append_fact(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
              p.rss_bytes);
  append_fact(out, "process_start_time_seconds", "gauge",
              "Start time of the process since unix epoch in seconds.", p.start_time);
  append_fact(out, "process_open_fds", "gauge", "Number of open file descriptors.", p.open_fds);
  append_fact(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.",
              p.max_fds);
  append_fact(out, "process_threads", "gauge", "Number of OS threads in the process.", p.threads);
  return out;
}

}  // namespace honeyman::metrics
