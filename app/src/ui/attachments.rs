//! Attachments in the UI: a message's files (an image as its thumbnail, whose `alt` is
//! its file name, inside a link named by it; any other file as a link named by its file
//! name), and the composer's "Attach file" with each upload's progress.

use leptos::html::Input;
use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::model::{Attachment, ConversationId};
use crate::state::use_chat;

/// A message's files.
#[component]
pub fn AttachmentList(attachments: Vec<Attachment>) -> impl IntoView {
    (!attachments.is_empty()).then(|| {
        view! {
            <ul class="attachments">
                {attachments.into_iter().map(|a| {
                    let url = a.url();
                    match (a.thumbnail_url(), a.thumbnail) {
                        (Some(thumb), Some((width, height))) => view! {
                            <li class="image">
                                <a href=url target="_blank" rel="noopener">
                                    <img src=thumb alt=a.name.clone() width=width height=height loading="lazy"/>
                                </a>
                            </li>
                        }.into_any(),
                        _ => view! {
                            <li class="file">
                                <a href=url download=a.name.clone()>{a.name.clone()}</a>
                                <span class="muted">{format!(" · {}", size(a.size))}</span>
                            </li>
                        }.into_any(),
                    }
                }).collect_view()}
            </ul>
        }
    })
}

fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.1} MB", b as f64 / (1 << 20) as f64),
        b if b >= 1 << 10 => format!("{} KB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// One file being (or having been) uploaded from the composer.
#[derive(Clone, Debug, PartialEq)]
pub struct Upload {
    /// Tells uploads of the same name apart.
    pub key: u32,
    pub name: String,
    /// Share sent, 0 to 1.
    pub progress: f64,
    /// The stored attachment, or why it was refused; `None` while uploading.
    pub outcome: Option<Result<Attachment, String>>,
}

/// "Attach file" (the file input, which browsers show as a button) and the uploads
/// of the message being written, each with a progress bar until it is stored.
#[component]
pub fn AttachFiles(conversation: ConversationId, uploads: RwSignal<Vec<Upload>>) -> impl IntoView {
    let state = use_chat();
    let input = NodeRef::<Input>::new();
    let next_key = StoredValue::new(0_u32);
    let chosen = move |_| {
        let Some(el) = input.get_untracked() else {
            return;
        };
        let Some(files) = el.files() else { return };
        let limit = state
            .settings
            .with_untracked(|s| s.as_ref().map(|s| s.max_attachment_bytes));
        for n in 0..files.length() {
            let Some(file) = files.get(n) else { continue };
            let key = next_key.get_value();
            next_key.set_value(key + 1);
            let name = file.name();
            let too_big = limit.is_some_and(|limit| file.size() > limit as f64);
            uploads.update(|u| {
                u.push(Upload {
                    key,
                    name: name.clone(),
                    progress: 0.0,
                    outcome: too_big.then(|| Err(format!("{name} is too large to attach."))),
                })
            });
            if too_big {
                continue;
            }
            let set = move |f: &dyn Fn(&mut Upload)| {
                uploads.update(|u| {
                    if let Some(up) = u.iter_mut().find(|up| up.key == key) {
                        f(up);
                    }
                })
            };
            spawn_local(async move {
                let result = crate::client::upload(conversation, file, move |share| {
                    set(&|up: &mut Upload| up.progress = share)
                })
                .await;
                set(&|up: &mut Upload| {
                    up.progress = 1.0;
                    up.outcome = Some(result.clone().map_err(|e| e.message));
                });
            });
        }
        el.set_value("");
    };
    view! {
        // The file input is the "Attach file" button (browsers expose it as one); the
        // label around it shows the paper clip and takes clicks and focus styling.
        <label class="attach" title="Attach file">
            <svg aria-hidden="true" viewBox="0 0 24 24" width="20" height="20">
                <path fill="currentColor" d="M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5H9V15.5a3 3 0 0 0 6 0V5a4.5 4.5 0 0 0-9 0v11.5a6 6 0 0 0 12 0v-10z"/>
            </svg>
            <input type="file" class="visually-hidden" aria-label="Attach file" multiple node_ref=input on:change=chosen/>
        </label>
        <Show when=move || uploads.with(|u| !u.is_empty())>
            <ul class="uploads">
                {move || uploads.get().into_iter().map(|up| {
                    let key = up.key;
                    let name = up.name.clone();
                    view! {
                        <li class="upload" class:failed=matches!(up.outcome, Some(Err(_)))>
                            <span class="upload-name">{up.name.clone()}</span>
                            {match &up.outcome {
                                None => view! {
                                    <progress max="1" value=up.progress aria-label=format!("Uploading {name}")></progress>
                                }.into_any(),
                                Some(Ok(_)) => view! { <span class="muted">"ready"</span> }.into_any(),
                                Some(Err(e)) => view! { <span class="error-notice" role="alert">{e.clone()}</span> }.into_any(),
                            }}
                            <button type="button" class="link-button" aria-label=format!("Remove {}", up.name)
                                on:click=move |_| uploads.update(|u| u.retain(|x| x.key != key))>"×"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </Show>
    }
}
