//! Attachments' bytes, kept outside the database by their SHA-256 behind a small
//! [`BlobStore`] (a folder under the data folder today; an object store can implement
//! it later), and the thumbnails made for images.

use std::io::{self, Write};
use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// Where attachment bytes are kept, by content hash. Blocking: call it off the async
/// threads.
pub trait BlobStore: Send + Sync + 'static {
    /// Stores `bytes` (once: the same bytes have the same hash) and returns their hash.
    fn put(&self, bytes: &[u8]) -> io::Result<String>;
    /// The bytes stored under `hash`.
    fn get(&self, hash: &str) -> io::Result<Vec<u8>>;
    /// Forgets the bytes under `hash`, which nothing in the database refers to any more,
    /// unless they were stored within [`BLOB_GRACE`] (an upload of the same bytes may be
    /// about to refer to them). Gone already is fine.
    fn delete(&self, hash: &str) -> io::Result<()>;
}

/// How recently stored (or stored again) bytes are kept even when nothing refers to them.
pub const BLOB_GRACE: std::time::Duration = std::time::Duration::from_secs(600);

/// Blobs as files `{root}/{first two hex digits}/{hash}`, written to a temporary file,
/// synced and renamed into place, so a crash never leaves half a file under a hash.
pub struct DirBlobs {
    root: PathBuf,
}

impl DirBlobs {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path(&self, hash: &str) -> io::Result<PathBuf> {
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "not a hash"));
        }
        Ok(self.root.join(&hash[..2]).join(hash))
    }
}

impl BlobStore for DirBlobs {
    fn put(&self, bytes: &[u8]) -> io::Result<String> {
        let hash = hex::encode(Sha256::digest(bytes));
        let path = self.path(&hash)?;
        if path.exists() {
            // Stored again: fresh for the retention sweep's grace period.
            std::fs::File::options()
                .append(true)
                .open(&path)?
                .set_modified(std::time::SystemTime::now())?;
            return Ok(hash);
        }
        let dir = path.parent().unwrap_or(&self.root);
        std::fs::create_dir_all(dir)?;
        let temporary = dir.join(format!(".{hash}.{}", uuid::Uuid::new_v4().simple()));
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, &path)?;
        std::fs::File::open(dir)?.sync_all()?;
        Ok(hash)
    }

    fn get(&self, hash: &str) -> io::Result<Vec<u8>> {
        std::fs::read(self.path(hash)?)
    }

    fn delete(&self, hash: &str) -> io::Result<()> {
        let path = self.path(hash)?;
        let stored = match std::fs::metadata(&path) {
            Ok(meta) => meta.modified()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        if stored.elapsed().unwrap_or_default() < BLOB_GRACE {
            return Ok(());
        }
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }
}

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_PX: u32 = 320;

/// A thumbnail: JPEG bytes, width, height.
pub type Thumbnail = (Vec<u8>, u32, u32);

/// Decodes an uploaded image (refusing ones too large to decode safely) and makes a
/// JPEG thumbnail of it; `None` when the bytes are not an image of a known format.
pub fn thumbnail(bytes: &[u8]) -> Option<Thumbnail> {
    let mut reader = image::ImageReader::new(io::Cursor::new(bytes))
        .with_guessed_format()
        .ok()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    let picture = reader.decode().ok()?;
    // Scaled down to fit, never up.
    let small = if picture.width() <= THUMBNAIL_PX && picture.height() <= THUMBNAIL_PX {
        picture.to_rgb8()
    } else {
        picture.thumbnail(THUMBNAIL_PX, THUMBNAIL_PX).to_rgb8()
    };
    let (width, height) = small.dimensions();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
        .encode_image(&small)
        .ok()?;
    Some((out, width, height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_are_stored_once_by_hash() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = DirBlobs::new(dir.path().to_path_buf());
        let hash = blobs.put(b"pallet photo").unwrap();
        assert_eq!(blobs.put(b"pallet photo").unwrap(), hash);
        assert_eq!(blobs.get(&hash).unwrap(), b"pallet photo");
        assert!(blobs.get("../../etc/passwd").is_err());
    }

    #[test]
    fn images_get_thumbnails_and_other_bytes_do_not() {
        let mut png = Vec::new();
        image::RgbImage::from_pixel(800, 400, image::Rgb([200, 30, 30]))
            .write_to(&mut io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let (jpeg, w, h) = thumbnail(&png).unwrap();
        assert_eq!((w, h), (320, 160));
        assert_eq!(&jpeg[..2], &[0xFF, 0xD8]);
        assert!(thumbnail(b"%PDF-1.7 not an image").is_none());
        let mut tiny = Vec::new();
        image::RgbImage::from_pixel(40, 20, image::Rgb([1, 2, 3]))
            .write_to(&mut io::Cursor::new(&mut tiny), image::ImageFormat::Png)
            .unwrap();
        assert_eq!(
            thumbnail(&tiny).map(|(_, w, h)| (w, h)),
            Some((40, 20)),
            "never enlarged"
        );
    }
}
