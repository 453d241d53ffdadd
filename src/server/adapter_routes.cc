// server/adapter_routes.cc — LoRA adapters at run time: GET /v1/adapters (any app), POST
// /v1/adapters {"name","path","scale"?}, PUT /v1/adapters/{name} {"path","scale"?} (replace or
// create) and DELETE /v1/adapters/{name} (only when the server was started with
// --allow-adapter-admin: registering reads a file by path on the server's machine).
#include "server/http_util.h"

namespace odlm::server {
namespace {

using nlohmann::json;

ApiError AdminRefused() {
  return {403, "permission_error", "adapter_admin_disabled",
          "registering and unregistering adapters is disabled; start the server with "
          "--allow-adapter-admin to allow it",
          ""};
}

json AdapterJson(const ServedAdapter& a) {
  return {{"name", a.info.name},           {"object", "adapter"},
          {"path", a.info.path},           {"description", a.info.description},
          {"parameters", a.info.n_params}, {"default_scale", a.default_scale}};
}

void ListAdapters(Service& service, httplib::Response& res) {
  json data = json::array();
  for (const ServedAdapter& a : service.ListAdapters()) data.push_back(AdapterJson(a));
  SendJson(res, 200, {{"object", "list"}, {"data", data}});
}

void RegisterAdapter(Service& service, const httplib::Request& req, httplib::Response& res) {
  if (!service.options().allow_adapter_admin) return SendError(res, AdminRefused());
  if (RequireApp(service, req, res) == nullptr) return;  // revoked while the body arrived
  auto parsed = ParseRegisterAdapter(req.body);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  const RegisterAdapterRequest& r = std::get<RegisterAdapterRequest>(parsed);
  Status st = service.RegisterAdapter({.name = r.name, .path = r.path, .scale = r.scale});
  if (!st.ok()) return SendError(res, FromStatus(st, "path"));
  for (const ServedAdapter& a : service.ListAdapters()) {
    if (a.info.name == r.name) return SendJson(res, 201, AdapterJson(a));
  }
  SendError(res, Conflict("adapter '" + r.name + "' was unregistered meanwhile"));
}

// 201 when the name was free, 200 when a registered version was swapped for the new one.
void ReplaceAdapter(Service& service, const httplib::Request& req, httplib::Response& res) {
  if (!service.options().allow_adapter_admin) return SendError(res, AdminRefused());
  if (RequireApp(service, req, res) == nullptr) return;  // revoked while the body arrived
  auto parsed = ParseReplaceAdapter(req.body, req.matches[1]);
  if (auto* e = std::get_if<ApiError>(&parsed)) return SendError(res, *e);
  const RegisterAdapterRequest& r = std::get<RegisterAdapterRequest>(parsed);
  bool created = false;
  Status st =
      service.ReplaceAdapter({.name = r.name, .path = r.path, .scale = r.scale}, &created, nullptr);
  if (!st.ok()) return SendError(res, FromStatus(st, "path"));
  for (const ServedAdapter& a : service.ListAdapters()) {
    if (a.info.name != r.name) continue;
    json body = AdapterJson(a);
    body["replaced"] = !created;
    return SendJson(res, created ? 201 : 200, body);
  }
  SendError(res, Conflict("adapter '" + r.name + "' was unregistered meanwhile"));
}

void UnregisterAdapter(Service& service, const httplib::Request& req, httplib::Response& res) {
  if (!service.options().allow_adapter_admin) return SendError(res, AdminRefused());
  const std::string name = req.matches[1];
  Status st = service.UnregisterAdapter(name);
  if (!st.ok()) return SendError(res, FromStatus(st));
  SendJson(res, 200, {{"name", name}, {"object", "adapter"}, {"deleted", true}});
}

}  // namespace

void RegisterAdapterRoutes(httplib::Server& http, Service& service) {
  http.Get("/v1/adapters", [&service](const httplib::Request&, httplib::Response& res) {
    ListAdapters(service, res);
  });
  http.Post("/v1/adapters", [&service](const httplib::Request& req, httplib::Response& res) {
    RegisterAdapter(service, req, res);
  });
  http.Put("/v1/adapters/([A-Za-z0-9_.-]{1,64})",
           [&service](const httplib::Request& req, httplib::Response& res) {
             ReplaceAdapter(service, req, res);
           });
  http.Delete("/v1/adapters/([A-Za-z0-9_.-]{1,64})",
              [&service](const httplib::Request& req, httplib::Response& res) {
                UnregisterAdapter(service, req, res);
              });
}

}  // namespace odlm::server
