//! Attachments against a real server: uploads with their limits, images with server-made
//! thumbnails, files served only to whoever may see the conversation, kept across a
//! restart.

mod common;

use app::error::{ApiError, ErrorCode};
use app::model::{Attachment, ConversationId};
use app::protocol::{ClientFrame, ServerFrame};
use common::{Endpoint, TestServer};

fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = Vec::new();
    image::RgbImage::from_pixel(width, height, image::Rgb([120, 90, 40]))
        .write_to(
            &mut std::io::Cursor::new(&mut bytes),
            image::ImageFormat::Png,
        )
        .unwrap();
    bytes
}

async fn upload(
    server: &Endpoint,
    cookie: &str,
    conversation: ConversationId,
    name: &str,
    content_type: &str,
    bytes: Vec<u8>,
) -> Result<Attachment, ApiError> {
    server
        .upload(cookie, conversation, name, content_type, bytes)
        .await
}

async fn fetch(
    server: &Endpoint,
    cookie: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    server.get(cookie, path).await
}

#[tokio::test]
async fn an_image_reaches_who_may_see_it_and_nobody_else() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start_with(dir.path(), |c| c.max_attachment_bytes = 200_000).await;
    let alice_cookie = server.login("alice").await;
    let carol_cookie = server.login("carol").await;
    let dave_cookie = server.login("dave").await;
    let channel = server.channel(&alice_cookie, "oracare-team").await;
    let internal = server.channel(&alice_cookie, "internal").await;

    let photo = png(1200, 900);
    let attachment = upload(
        &server,
        &alice_cookie,
        channel.id,
        "C:\\fakepath\\damaged pallet.png",
        "image/png",
        photo.clone(),
    )
    .await
    .unwrap();
    assert_eq!(attachment.name, "damaged pallet.png");
    assert_eq!(attachment.thumbnail, Some((320, 240)));
    // Not sent yet: only its uploader may fetch it.
    assert_eq!(
        fetch(&server, &carol_cookie, &attachment.url()).await.0,
        404
    );

    // Limits: size, type, and an "image" that is not one. Carol cannot upload to #internal.
    let refused = upload(
        &server,
        &alice_cookie,
        channel.id,
        "big.png",
        "image/png",
        vec![0; 200_001],
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code, ErrorCode::FrameTooLarge);
    let refused = upload(
        &server,
        &alice_cookie,
        channel.id,
        "page.html",
        "text/html",
        b"<script>".to_vec(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadRequest);
    let refused = upload(
        &server,
        &alice_cookie,
        channel.id,
        "fake.png",
        "image/png",
        b"not a png".to_vec(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadRequest);
    let refused = upload(
        &server,
        &carol_cookie,
        internal.id,
        "x.txt",
        "text/plain",
        b"x".to_vec(),
    )
    .await
    .unwrap_err();
    assert_eq!(refused.code, ErrorCode::NotFound);

    // Carol cannot send alice's upload; alice sends it.
    let mut carol = server.connect(&carol_cookie).await;
    let mut alice = server.connect(&alice_cookie).await;
    let stolen = uuid::Uuid::new_v4();
    carol
        .send_frame(&ClientFrame::Send {
            client_id: stolen,
            conversation_id: channel.id,
            body: "mine now".into(),
            reply_to: None,
            attachments: vec![attachment.id],
        })
        .await;
    let code = carol
        .until(|f| match f {
            ServerFrame::Error {
                client_id: Some(c),
                error,
            } if c == stolen => Some(error.code),
            _ => None,
        })
        .await;
    assert_eq!(code, ErrorCode::NotFound);
    alice
        .send_frame(&ClientFrame::Send {
            client_id: uuid::Uuid::new_v4(),
            conversation_id: channel.id,
            body: "Photo of the damaged pallet".into(),
            reply_to: None,
            attachments: vec![attachment.id],
        })
        .await;
    let received = carol
        .until(|f| match f {
            ServerFrame::Message { message, .. } if !message.attachments.is_empty() => {
                Some(message)
            }
            _ => None,
        })
        .await;
    assert_eq!(received.attachments, std::slice::from_ref(&attachment));
    // Search finds it with has:file (and only it: the demo history has no files).
    let found: app::search::SearchResults = server
        .call(
            &carol_cookie,
            "search",
            &[("query", "has:file".to_string())],
        )
        .await
        .unwrap();
    let ids: Vec<_> = found.hits.iter().map(|h| h.message.id).collect();
    assert_eq!(ids, [received.id]);

    let (status, headers, bytes) = fetch(&server, &carol_cookie, &attachment.url()).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, photo);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("inline; filename=\"damaged pallet.png\"")
    );
    let (status, headers, thumb) =
        fetch(&server, &carol_cookie, &attachment.thumbnail_url().unwrap()).await;
    assert_eq!(
        (status, headers["content-type"].to_str().unwrap()),
        (200, "image/jpeg")
    );
    assert!(thumb.len() < photo.len());
    // Dave (Acme) cannot see #oracare-team, so not its files either.
    assert_eq!(fetch(&server, &dave_cookie, &attachment.url()).await.0, 404);
    assert_eq!(fetch(&server, &dave_cookie, "/files/999999").await.0, 404);

    // A text file downloads rather than displays.
    let notes = upload(
        &server,
        &alice_cookie,
        channel.id,
        "notes.txt",
        "text/plain",
        b"pallet 3".to_vec(),
    )
    .await
    .unwrap();
    assert_eq!(notes.thumbnail, None);
    let (status, headers, _) = fetch(&server, &alice_cookie, &notes.url()).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment;")
    );

    // After a restart the file is still there, and in the export.
    let data_dir = server.data_dir.clone();
    server.stop().await;
    let server = TestServer::start_with(&data_dir, |c| c.max_attachment_bytes = 200_000).await;
    let carol_cookie = server.login("carol").await;
    let alice_cookie = server.login("alice").await;
    let (status, _, bytes) = fetch(&server, &carol_cookie, &attachment.url()).await;
    assert_eq!((status, bytes.len()), (200, photo.len()));
    let (_, _, export) = fetch(
        &server,
        &alice_cookie,
        &format!("/admin/export/{}?format=json", channel.id),
    )
    .await;
    assert!(
        String::from_utf8(export)
            .unwrap()
            .contains("damaged pallet.png")
    );
    server.stop().await;
}
