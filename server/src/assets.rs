//! The site's static files — the wasm, JS and CSS bundle, `sw.js`, `embed.js`, the icon —
//! built into the binary (rust-embed) in release builds, so `parley` is one file that runs
//! from any folder. (Debug builds read them from `target/site` as they change.)
//!
//! The bundle is served under a path named by its content, `/pkg/{version}/…`, cached by
//! browsers for a year (`immutable`): a new build is a new path, so nobody runs an old
//! bundle against a new server. Everything else is revalidated (`no-cache` with an
//! `ETag`). Compressible files are compressed once, with brotli and gzip, in the
//! background when first asked for (that first answer goes uncompressed), and served in
//! whichever encoding the browser accepts.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::web::AppState;

#[derive(rust_embed::RustEmbed)]
#[folder = "../target/site"]
#[allow_missing = true]
struct Site;

/// What `/pkg/{version}/` holds.
pub const BUNDLE: [&str; 3] = ["pkg/parley.js", "pkg/parley.wasm", "pkg/parley.css"];
/// How long browsers keep the versioned bundle.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Brotli quality for files up to [`BROTLI_BEST_UP_TO`] bytes (a release bundle), and
/// for bigger ones (a debug build's wasm, which only tests load).
const BROTLI_BEST: u32 = 10;
const BROTLI_FAST: u32 = 5;
const BROTLI_BEST_UP_TO: usize = 8 * 1024 * 1024;

/// The bundle's version and the compressed copies made so far.
pub struct Assets {
    version: String,
    compressed: HashMap<String, Arc<Slot>>,
}

/// One file's compressed copies: being made once `started`, there once `done`.
#[derive(Default)]
struct Slot {
    started: AtomicBool,
    done: OnceLock<Compressed>,
}

struct Compressed {
    brotli: Vec<u8>,
    gzip: Vec<u8>,
}

impl Assets {
    /// Reads the site and names its bundle.
    pub fn load() -> Arc<Self> {
        let mut digest = Sha256::new();
        for path in BUNDLE {
            if let Some(file) = Site::get(path) {
                digest.update(file.metadata.sha256_hash());
            }
        }
        let version = hex::encode(&digest.finalize()[..8]);
        let compressed = Site::iter()
            .filter(|p| compressible(p))
            .map(|p| (p.to_string(), Arc::new(Slot::default())))
            .collect();
        Arc::new(Self {
            version,
            compressed,
        })
    }

    /// The compressed copies of `path` if they are made; starts making them if not.
    fn compressed(&self, path: &str) -> Option<&Compressed> {
        let slot = self.compressed.get(path)?;
        if let Some(done) = slot.done.get() {
            return Some(done);
        }
        if !slot.started.swap(true, Ordering::AcqRel) {
            let (slot, path) = (slot.clone(), path.to_string());
            tokio::task::spawn_blocking(move || {
                if let Some(file) = Site::get(&path) {
                    let _ = slot.done.set(compress(&file.data));
                }
            });
        }
        None
    }

    /// The folder the pages load the bundle from, `pkg/{version}`.
    pub fn pkg_dir(&self) -> String {
        format!("pkg/{}", self.version)
    }
}

fn compressible(path: &str) -> bool {
    [".js", ".wasm", ".css", ".svg", ".html", ".json", ".txt"]
        .iter()
        .any(|ext| path.ends_with(ext))
}

fn compress(data: &[u8]) -> Compressed {
    use std::io::Write;
    let quality = if data.len() <= BROTLI_BEST_UP_TO {
        BROTLI_BEST
    } else {
        BROTLI_FAST
    };
    let mut brotli = Vec::new();
    {
        let mut writer = brotli::CompressorWriter::new(&mut brotli, 64 * 1024, quality, 22);
        writer.write_all(data).expect("compressing into memory");
    }
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gzip.write_all(data).expect("compressing into memory");
    Compressed {
        brotli,
        gzip: gzip.finish().expect("compressing into memory"),
    }
}

/// `GET /pkg/{version}/{file}`: the bundle, for a year; another version is gone.
pub async fn bundle(
    State(state): State<AppState>,
    Path((version, file)): Path<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if version != state.assets.version {
        return StatusCode::NOT_FOUND.into_response();
    }
    serve(&state.assets, &format!("pkg/{file}"), &headers, IMMUTABLE)
        .unwrap_or_else(|| StatusCode::NOT_FOUND.into_response())
}

/// Any other file of the site (revalidated each time), else the app's "Page not found".
pub async fn file_or_not_found(State(state): State<AppState>, request: Request) -> Response {
    let path = request.uri().path().trim_start_matches('/').to_string();
    if let Some(response) = serve(&state.assets, &path, request.headers(), "no-cache") {
        return response;
    }
    let not_found = leptos_axum::file_and_error_handler::<AppState, _>(app::shell);
    not_found(request.uri().clone(), State(state), request).await
}

fn serve(assets: &Assets, path: &str, headers: &HeaderMap, cache: &str) -> Option<Response> {
    if path.is_empty() || path.ends_with('/') {
        return None;
    }
    let file = Site::get(path)?;
    let etag = format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..16]));
    let mut response = if headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let accepts = |encoding: &str| {
            headers
                .get_all(header::ACCEPT_ENCODING)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .flat_map(|v| v.split(','))
                .any(|e| e.trim().split(';').next() == Some(encoding))
        };
        let ready = assets.compressed(path);
        let (body, encoding) = match ready {
            Some(c) if accepts("br") => (Body::from(c.brotli.clone()), Some("br")),
            Some(c) if accepts("gzip") => (Body::from(c.gzip.clone()), Some("gzip")),
            _ => (Body::from(file.data.into_owned()), None),
        };
        let mut response = body.into_response();
        let h = response.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_str(file.metadata.mimetype())
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
        );
        if let Some(encoding) = encoding {
            h.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    };
    let h = response.headers_mut();
    h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_str(cache).ok()?);
    h.insert(header::ETAG, HeaderValue::from_str(&etag).ok()?);
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Some(response)
}
