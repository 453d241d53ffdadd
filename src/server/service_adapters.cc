// server/service_adapters.cc — the service's LoRA adapters: registration (start-up,
// /v1/adapters, the adapters directory), replacement under a name, listing, and resolving a
// request's "adapters" into the engine's AdapterChoice set.
//
// The engine's registry has no "replace": ReplaceAdapter unregisters and registers in the engine
// while holding adapters_mu_, and every lookup the service makes (ResolveAdapters, BindAdapters)
// takes adapters_mu_ too, so none of them sees the name missing in between.
#include <cmath>

#include "base/check.h"
#include "base/logging.h"
#include "server/service.h"

namespace odlm::server {
namespace {

Status CheckScale(float scale) {
  if (!std::isfinite(scale) || std::fabs(scale) > kMaxAdapterScale) {
    return InvalidArgumentError("adapter scale " + std::to_string(scale) + " is outside [-16, 16]");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::shared_ptr<const LoraAdapter>> Service::LoadAdapter(const AdapterSpec& spec) const {
  auto adapter = LoraAdapter::Load(spec.path, engine_->model().LoraBase());
  if (!adapter.ok()) {
    const Status& st = adapter.status();
    // A file that cannot be read or does not fit the model is the caller's error (400).
    if (st.code() == StatusCode::kNotFound || st.code() == StatusCode::kUnavailable ||
        st.code() == StatusCode::kDataLoss || st.code() == StatusCode::kInternal ||
        st.code() == StatusCode::kInvalidArgument) {
      return InvalidArgumentError("cannot register adapter '" + spec.name + "' from '" + spec.path +
                                  "' (base model '" + engine_->options().model_path +
                                  "'): " + std::string(st.message()));
    }
    return st.WithContext("adapter '" + spec.name + "' from '" + spec.path + "'");
  }
  return std::shared_ptr<const LoraAdapter>(std::move(adapter).value());
}

Status Service::RegisterAdapter(const AdapterSpec& spec) {
  RETURN_IF_ERROR(CheckScale(spec.scale));
  AdapterSpec named = spec;
  if (named.name.empty()) named.name = AdapterNameFromPath(spec.path);
  if (named.name.empty()) return InvalidArgumentError("adapter '" + spec.path + "' has no name");
  const auto in_use = [&] {
    return FailedPreconditionError("an adapter named '" + named.name +
                                   "' is already registered; unregister it first (or replace "
                                   "it with PUT /v1/adapters/" +
                                   named.name + ")");
  };
  {
    std::lock_guard<std::mutex> lock(adapters_mu_);
    if (engine_->FindAdapter(named.name)) return in_use();  // before reading the file
  }
  ASSIGN_OR_RETURN(std::shared_ptr<const LoraAdapter> adapter, LoadAdapter(named));
  std::lock_guard<std::mutex> lock(adapters_mu_);
  if (engine_->FindAdapter(named.name)) return in_use();  // registered while we read
  RETURN_IF_ERROR(engine_->RegisterAdapter(named.name, std::move(adapter)));
  adapter_scales_[named.name] = named.scale;
  adapter_paths_[named.name] = named.path;
  LOG(INFO) << "registered adapter '" << named.name << "' from " << named.path;
  return Status::Ok();
}

Status Service::ReplaceAdapter(const AdapterSpec& spec, bool* created,
                               std::shared_ptr<const LoraAdapter>* registered) {
  RETURN_IF_ERROR(CheckScale(spec.scale));
  AdapterSpec named = spec;
  if (named.name.empty()) named.name = AdapterNameFromPath(spec.path);
  if (named.name.empty()) return InvalidArgumentError("adapter '" + spec.path + "' has no name");
  ASSIGN_OR_RETURN(std::shared_ptr<const LoraAdapter> adapter, LoadAdapter(named));
  std::lock_guard<std::mutex> lock(adapters_mu_);
  std::shared_ptr<const LoraAdapter> old = engine_->FindAdapter(named.name);
  if (old != nullptr) RETURN_IF_ERROR(engine_->UnregisterAdapter(named.name));
  if (Status st = engine_->RegisterAdapter(named.name, adapter); !st.ok()) {
    // LoadAdapter checked it against the same base, so this is not expected; keep the old one.
    if (old != nullptr) CHECK(engine_->RegisterAdapter(named.name, old).ok());
    return st;
  }
  adapter_scales_[named.name] = named.scale;
  adapter_paths_[named.name] = named.path;
  if (created != nullptr) *created = old == nullptr;
  if (registered != nullptr) *registered = adapter;
  LOG(INFO) << (old != nullptr ? "replaced" : "registered") << " adapter '" << named.name
            << "' from " << named.path;
  return Status::Ok();
}

Status Service::UnregisterAdapter(const std::string& name) {
  std::lock_guard<std::mutex> lock(adapters_mu_);
  RETURN_IF_ERROR(engine_->UnregisterAdapter(name));
  adapter_scales_.erase(name);
  adapter_paths_.erase(name);
  return Status::Ok();
}

bool Service::UnregisterAdapterIf(const std::string& name,
                                  const std::shared_ptr<const void>& expected) {
  std::lock_guard<std::mutex> lock(adapters_mu_);
  std::shared_ptr<const LoraAdapter> now = engine_->FindAdapter(name);
  if (now == nullptr || expected == nullptr ||
      static_cast<const void*>(now.get()) != expected.get()) {
    return false;
  }
  if (!engine_->UnregisterAdapter(name).ok()) return false;
  adapter_scales_.erase(name);
  adapter_paths_.erase(name);
  return true;
}

std::vector<ServedAdapter> Service::ListAdapters() const {
  std::lock_guard<std::mutex> lock(adapters_mu_);
  std::vector<ServedAdapter> out;
  for (AdapterInfo& info : engine_->ListAdapters()) {
    ServedAdapter a;
    auto it = adapter_scales_.find(info.name);
    if (it != adapter_scales_.end()) a.default_scale = it->second;
    auto p = adapter_paths_.find(info.name);
    if (p != adapter_paths_.end()) info.path = p->second;
    a.info = std::move(info);
    out.push_back(std::move(a));
  }
  return out;
}

StatusOr<std::vector<AdapterChoice>> Service::ResolveAdapters(const GenerationParams& p) const {
  std::vector<AdapterChoice> out;
  if (!p.adapters) return out;
  std::lock_guard<std::mutex> lock(adapters_mu_);
  for (const AdapterParam& a : *p.adapters) {
    if (!engine_->FindAdapter(a.name)) {
      std::string known;
      for (const auto& [name, scale] : adapter_scales_) known += (known.empty() ? "" : ", ") + name;
      return InvalidArgumentError("unknown adapter '" + a.name + "' (registered: " +
                                  (known.empty() ? std::string("none") : known) + ")");
    }
    auto it = adapter_scales_.find(a.name);
    const float fallback = it != adapter_scales_.end() ? it->second : 1.0f;
    out.push_back({a.name, a.scale.value_or(fallback)});
  }
  return out;
}

Status Service::BindAdapters(Session& session, const std::vector<AdapterChoice>& adapters) {
  std::lock_guard<std::mutex> lock(adapters_mu_);
  // NotFound only if unregistered since ResolveAdapters.
  if (Status st = engine_->SetAdapters(session, adapters); !st.ok()) {
    return InvalidArgumentError(std::string(st.message()));
  }
  return Status::Ok();
}

Status Service::WatchAdapterDir(AdapterDirOptions options) {
  std::lock_guard<std::mutex> lock(watcher_mu_);
  if (dir_watcher_ != nullptr) {
    return FailedPreconditionError("already watching adapters directory " +
                                   dir_watcher_->options().dir);
  }
  for (const ServedAdapter& a : ListAdapters()) options.reserved_names.insert(a.info.name);
  AdapterDirHooks hooks;
  hooks.load = [this](const std::string& name,
                      const std::string& path) -> StatusOr<std::shared_ptr<const void>> {
    std::shared_ptr<const LoraAdapter> registered;
    RETURN_IF_ERROR(
        ReplaceAdapter({.name = name, .path = path, .scale = 1.0f}, nullptr, &registered));
    return std::shared_ptr<const void>(std::move(registered));
  };
  hooks.unload = [this](const std::string& name, const std::shared_ptr<const void>& handle) {
    (void)UnregisterAdapterIf(name, handle);
  };
  ASSIGN_OR_RETURN(dir_watcher_, AdapterDirWatcher::Create(std::move(options), std::move(hooks)));
  dir_watcher_->Start();
  return Status::Ok();
}

AdapterDirStats Service::adapter_dir_stats() const {
  std::lock_guard<std::mutex> lock(watcher_mu_);
  return dir_watcher_ ? dir_watcher_->stats() : AdapterDirStats{};
}

}  // namespace odlm::server
