//! The route table: which paths exist, which methods each answers, and their metric labels.

use http::Method;

/// Every path the server knows. Anything else is `Unmatched` (404), one label value for all of
/// them so a scanner cannot grow the metric series without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    Root,
    Login,
    Logout,
    History,
    Chat,
    Preferences,
    Startup,
    Phase,
    Metrics,
    Healthz,
    Readyz,
    /// The console: `/ui` and everything under it (page, assets, data), one label for all.
    Ui,
    Unmatched,
}

impl Route {
    pub const ALL: [Route; 13] = [
        Route::Root,
        Route::Login,
        Route::Logout,
        Route::History,
        Route::Chat,
        Route::Preferences,
        Route::Startup,
        Route::Phase,
        Route::Metrics,
        Route::Healthz,
        Route::Readyz,
        Route::Ui,
        Route::Unmatched,
    ];

    pub fn from_path(path: &str) -> Route {
        match path {
            "/" => Route::Root,
            "/login" => Route::Login,
            "/logout" => Route::Logout,
            "/history" => Route::History,
            "/chat" => Route::Chat,
            "/preferences" => Route::Preferences,
            "/startup" => Route::Startup,
            "/phase" => Route::Phase,
            "/metrics" => Route::Metrics,
            "/healthz" => Route::Healthz,
            "/readyz" => Route::Readyz,
            "/ui" => Route::Ui,
            p if p.starts_with("/ui/") => Route::Ui,
            _ => Route::Unmatched,
        }
    }

    /// The `route` label of the per-route metrics.
    pub fn label(self) -> &'static str {
        match self {
            Route::Root => "/",
            Route::Login => "/login",
            Route::Logout => "/logout",
            Route::History => "/history",
            Route::Chat => "/chat",
            Route::Preferences => "/preferences",
            Route::Startup => "/startup",
            Route::Phase => "/phase",
            Route::Metrics => "/metrics",
            Route::Healthz => "/healthz",
            Route::Readyz => "/readyz",
            Route::Ui => "/ui",
            Route::Unmatched => "unmatched",
        }
    }

    /// Routes an orchestrator or operator needs even from a failing revision.
    pub fn is_operational(self) -> bool {
        matches!(
            self,
            Route::Healthz | Route::Readyz | Route::Metrics | Route::Phase | Route::Ui
        )
    }

    /// The value of the `Allow` header on a 405.
    pub fn allow(self) -> &'static str {
        match self {
            Route::Login | Route::Chat => "POST",
            // POST answers 200 and counts nothing, as the original did for Locust's calls.
            Route::Logout => "GET, POST",
            Route::History => "GET, DELETE, POST",
            Route::Preferences => "GET, POST",
            Route::Phase => "GET, POST, DELETE",
            Route::Root
            | Route::Startup
            | Route::Metrics
            | Route::Healthz
            | Route::Readyz
            | Route::Ui
            | Route::Unmatched => "GET",
        }
    }
}

/// Methods get a label of their own only when common; the rest share `other`, again to keep
/// series bounded whatever a client sends.
pub fn method_slot(method: &Method) -> (usize, &'static str) {
    match *method {
        Method::GET => (0, "GET"),
        Method::POST => (1, "POST"),
        Method::DELETE => (2, "DELETE"),
        Method::HEAD => (3, "HEAD"),
        Method::PUT => (4, "PUT"),
        Method::PATCH => (5, "PATCH"),
        Method::OPTIONS => (6, "OPTIONS"),
        _ => (7, "other"),
    }
}

pub const METHOD_SLOTS: usize = 8;
