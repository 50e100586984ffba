//! Uploading an attachment with progress: `POST /files` through `XMLHttpRequest`, whose
//! upload events report progress (`fetch` does not).

use futures::channel::oneshot;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

use crate::error::ApiError;
use crate::model::{Attachment, ConversationId};

/// Uploads `file` to `conversation`, calling `progress` with the share sent (0 to 1).
pub async fn upload(
    conversation: ConversationId,
    file: File,
    progress: impl Fn(f64) + 'static,
) -> Result<Attachment, ApiError> {
    let unreachable = || {
        ApiError::new(
            crate::error::ErrorCode::Internal,
            "Could not upload the file.",
        )
    };
    let xhr = XmlHttpRequest::new().map_err(|_| unreachable())?;
    let url = format!(
        "/files?conversation_id={conversation}&name={}",
        js_sys::encode_uri_component(&file.name())
    );
    xhr.open("POST", &url).map_err(|_| unreachable())?;
    let content_type = if file.type_().is_empty() {
        "application/octet-stream".to_string()
    } else {
        file.type_()
    };
    xhr.set_request_header("Content-Type", &content_type)
        .map_err(|_| unreachable())?;
    let (done_tx, done_rx) = oneshot::channel::<bool>();
    let done_tx = std::rc::Rc::new(std::cell::RefCell::new(Some(done_tx)));
    let finish = {
        let done_tx = done_tx.clone();
        move |ok: bool| {
            if let Some(tx) = done_tx.borrow_mut().take() {
                let _ = tx.send(ok);
            }
        }
    };
    let on_load = {
        let finish = finish.clone();
        Closure::<dyn FnMut()>::new(move || finish(true))
    };
    let on_error = Closure::<dyn FnMut()>::new(move || finish(false));
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
        if ev.length_computable() && ev.total() > 0.0 {
            progress(ev.loaded() / ev.total());
        }
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    xhr.send_with_opt_blob(Some(&file))
        .map_err(|_| unreachable())?;
    let loaded = done_rx.await.unwrap_or(false);
    drop((on_load, on_progress));
    if !loaded {
        return Err(ApiError::new(
            crate::error::ErrorCode::Internal,
            "Could not reach the server. Check your connection.",
        ));
    }
    let status = xhr.status().unwrap_or(0);
    let text = xhr.response_text().ok().flatten().unwrap_or_default();
    if (200..300).contains(&status) {
        serde_json::from_str(&text).map_err(|_| unreachable())
    } else {
        Err(serde_json::from_str(&text).unwrap_or_else(|_| unreachable()))
    }
}
