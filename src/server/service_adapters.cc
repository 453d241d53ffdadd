// server/service_adapters.cc — the service's LoRA adapters: registration (start-up and
// /v1/adapters), listing, and resolving a request's "adapters" into the engine's AdapterChoice set.
#include <cmath>

#include "base/logging.h"
#include "server/service.h"

namespace odlm::server {

Status Service::RegisterAdapter(const AdapterSpec& spec) {
  if (!std::isfinite(spec.scale) || std::fabs(spec.scale) > kMaxAdapterScale) {
    return InvalidArgumentError("adapter scale " + std::to_string(spec.scale) +
                                " is outside [-16, 16]");
  }
  AdapterSpec named = spec;
  if (named.name.empty()) named.name = AdapterNameFromPath(spec.path);
  std::lock_guard<std::mutex> lock(adapters_mu_);
  if (engine_->FindAdapter(named.name)) {
    return FailedPreconditionError("an adapter named '" + named.name +
                                   "' is already registered; unregister it first");
  }
  Status st = engine_->RegisterAdapter(named);
  if (!st.ok()) {
    // A file that cannot be read or does not fit the model is the caller's error (400).
    if (st.code() == StatusCode::kNotFound || st.code() == StatusCode::kUnavailable ||
        st.code() == StatusCode::kDataLoss || st.code() == StatusCode::kInternal) {
      return InvalidArgumentError("cannot register adapter '" + named.name + "' from '" +
                                  named.path + "': " + std::string(st.message()));
    }
    return st;
  }
  adapter_scales_[named.name] = named.scale;
  LOG(INFO) << "registered adapter '" << named.name << "' from " << named.path;
  return Status::Ok();
}

Status Service::UnregisterAdapter(const std::string& name) {
  std::lock_guard<std::mutex> lock(adapters_mu_);
  RETURN_IF_ERROR(engine_->UnregisterAdapter(name));
  adapter_scales_.erase(name);
  return Status::Ok();
}

std::vector<ServedAdapter> Service::ListAdapters() const {
  std::lock_guard<std::mutex> lock(adapters_mu_);
  std::vector<ServedAdapter> out;
  for (AdapterInfo& info : engine_->ListAdapters()) {
    ServedAdapter a;
    auto it = adapter_scales_.find(info.name);
    if (it != adapter_scales_.end()) a.default_scale = it->second;
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

}  // namespace odlm::server
