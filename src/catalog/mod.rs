//! The catalog of public sources (`data/catalog.toml`): who publishes each file, where to get
//! it, its licence and attribution, the columns standort expects and how they map to
//! criteria; and fetching the files into a data directory, from the publishers or from a
//! local mirror.
//!
//! Every file is written to a temporary file in its target folder, checked (size and SHA-256
//! of the catalog's reference copy where known, expected columns always) and only then
//! renamed into place: a failed fetch leaves no half-written file.

pub mod aqueduct;
pub mod convert;
pub mod import;
pub mod osm;

use crate::error::{Error, ErrorKind, Result, toml_error};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

/// The embedded catalog.
pub const CATALOG: &str = include_str!("../../data/catalog.toml");

/// One public source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Short id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Publisher.
    pub publisher: String,
    /// Version of the reference copy.
    pub version: String,
    /// Licence.
    pub licence: String,
    /// Attribution text to show with results.
    pub attribution: String,
    /// Where the publisher describes it.
    pub homepage: String,
    /// Which criteria use it, and how its fields map to them.
    pub used_for: String,
    /// The name `standort data import NAME FILE` knows it by, when the user may bring the
    /// publisher's file (several sources may share one: a workbook with several sheets).
    #[serde(default)]
    pub import: Option<String>,
    /// Its files.
    #[serde(rename = "file")]
    pub files: Vec<SourceFile>,
}

/// One file of a source.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    /// Path inside the data directory.
    pub path: PathBuf,
    /// Columns (CSV) or properties (GeoJSON) standort expects.
    pub columns: Vec<String>,
    /// Size of the reference copy in bytes.
    #[serde(default)]
    pub bytes: Option<u64>,
    /// SHA-256 of the reference copy (hex).
    #[serde(default)]
    pub sha256: Option<String>,
    /// Where the publisher serves the file (or an archive holding it).
    #[serde(default)]
    pub url: Option<String>,
    /// The member of the archive at `url` to extract.
    #[serde(default)]
    pub member: Option<String>,
    /// The version `url` serves, when it is not the reference copy (its checksum then
    /// differs; the columns are still checked).
    #[serde(default)]
    pub url_version: Option<String>,
    /// Size in bytes of what `url` serves (checked before anything is extracted).
    #[serde(default)]
    pub url_bytes: Option<u64>,
    /// SHA-256 of what `url` serves (hex).
    #[serde(default)]
    pub url_sha256: Option<String>,
    /// The converter that turns the publisher's file (or the archive member) into this
    /// file (see [`convert::CONVERTERS`]).
    #[serde(default)]
    pub convert: Option<String>,
    /// How to get the file by hand when the publisher has no direct download.
    #[serde(default)]
    pub manual: Option<String>,
    /// The layer set works without it (a join it adds where it is there): a fetch that
    /// cannot get it is not a failure.
    #[serde(default)]
    pub optional: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    #[serde(rename = "source")]
    sources: Vec<Source>,
}

/// The catalog.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Sources, in catalog order.
    pub sources: Vec<Source>,
}

impl Catalog {
    /// Parse a catalog; `origin` names it in errors.
    pub fn parse(text: &str, origin: &Path) -> Result<Catalog> {
        let c: CatalogFile = toml::from_str(text).map_err(|e| toml_error(origin, text, &e))?;
        Ok(Catalog { sources: c.sources })
    }

    /// The embedded catalog.
    pub fn embedded() -> Catalog {
        Catalog::parse(CATALOG, Path::new("<catalog>"))
            .unwrap_or_else(|_| Catalog { sources: vec![] })
    }

    /// Read a catalog file.
    pub fn from_file(path: &Path) -> Result<Catalog> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, &e))?;
        Catalog::parse(&text, path)
    }

    /// The source and file entry for a data-directory path.
    pub fn find(&self, path: &Path) -> Option<(&Source, &SourceFile)> {
        self.sources
            .iter()
            .find_map(|s| s.files.iter().find(|f| f.path == path).map(|f| (s, f)))
    }
}

/// What fetching one file did.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Already there and valid.
    Present,
    /// Copied from the mirror.
    Copied,
    /// Downloaded from the publisher.
    Downloaded,
    /// Converted from a file the user brought (`standort data import`).
    Imported,
    /// An optional file the mirror does not have.
    Skipped,
    /// No download: the text says how to get it.
    Manual(String),
}

fn sha256_hex(path: &Path) -> Result<String> {
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, &e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
}

/// Check a file's columns (CSV header or GeoJSON properties of the first feature); the
/// format follows the extension of `logical` (the file's name in the data directory).
pub fn check_columns(
    path: &Path,
    logical: &Path,
    shown_as: &str,
    expected: &[String],
) -> Result<()> {
    if expected.is_empty() {
        return Ok(());
    }
    let ext = logical
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let found: Vec<String> = if ext == "csv" {
        let mut rdr = csv::Reader::from_path(path)
            .map_err(|e| Error::at(ErrorKind::Input, shown_as.to_string(), e.to_string()))?;
        rdr.headers()
            .map_err(|e| Error::at(ErrorKind::Input, shown_as.to_string(), e.to_string()))?
            .iter()
            .map(|h| h.trim().to_string())
            .collect()
    } else {
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
        let mut keys: Option<Vec<String>> = None;
        let res = crate::feature_stream::stream_features(
            file,
            shown_as,
            &mut |_i, f: geojson::Feature| {
                keys = Some(f.properties.unwrap_or_default().keys().cloned().collect());
                Err(Error::new(ErrorKind::Input, "stop"))
            },
        );
        match (res, keys) {
            (_, Some(k)) => k,
            (Ok(_), None) => vec![],
            (Err(e), None) => return Err(e),
        }
    };
    let missing: Vec<&String> = expected.iter().filter(|c| !found.contains(c)).collect();
    if !missing.is_empty() {
        return Err(Error::at(
            ErrorKind::Input,
            shown_as.to_string(),
            format!(
                "lacks expected column(s) {} (has: {})",
                missing
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                found.join(", ")
            ),
        ));
    }
    Ok(())
}

/// Verify a candidate file against the catalog entry: columns always; size and SHA-256 when
/// `checksums` (the file is meant to be the reference copy).
fn verify(tmp: &Path, shown_as: &str, f: &SourceFile, checksums: bool) -> Result<()> {
    if checksums {
        if let Some(bytes) = f.bytes {
            let got = std::fs::metadata(tmp)
                .map_err(|e| Error::io(tmp, &e))?
                .len();
            if got != bytes {
                return Err(Error::at(
                    ErrorKind::Input,
                    shown_as.to_string(),
                    format!(
                        "is {got} bytes, the catalog's reference copy is {bytes} (pass --no-verify to accept another version)"
                    ),
                ));
            }
        }
        if let Some(sum) = &f.sha256 {
            let got = sha256_hex(tmp)?;
            if &got != sum {
                return Err(Error::at(
                    ErrorKind::Input,
                    shown_as.to_string(),
                    format!(
                        "SHA-256 {got} differs from the catalog's {sum} (pass --no-verify to accept another version)"
                    ),
                ));
            }
        }
    }
    check_columns(tmp, &f.path, shown_as, &f.columns)
}

fn temp_in(target: &Path) -> Result<tempfile::NamedTempFile> {
    let dir = target.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, &e))?;
    tempfile::Builder::new()
        .prefix(".standort-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(|e| Error::io(target, &e))
}

fn persist(tmp: tempfile::NamedTempFile, target: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = tmp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(0o644));
    }
    tmp.persist(target)
        .map_err(|e| Error::io(target, &e.error))?;
    Ok(())
}

/// Downloads made during one run, by URL: several files of the catalog may come from one
/// archive (the world-atlas package, the codecarbon wheel), fetched once.
pub type Downloads =
    std::sync::Arc<std::sync::Mutex<HashMap<String, std::sync::Arc<tempfile::TempPath>>>>;

/// Options for [`fetch_file`].
#[derive(Debug, Clone, Default)]
pub struct FetchOptions {
    /// Copy from this mirror (laid out like the data directory) instead of downloading.
    pub from: Option<PathBuf>,
    /// Replace files that are already present.
    pub force: bool,
    /// Skip size and checksum checks (columns are still checked).
    pub no_verify: bool,
    /// What this run has downloaded so far.
    pub downloads: Downloads,
}

/// Put one catalog file into `data_dir`. `progress(done, total)` is called while copying or
/// downloading.
pub fn fetch_file(
    f: &SourceFile,
    data_dir: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Outcome> {
    let target = data_dir.join(&f.path);
    let shown = target.display().to_string();
    if target.exists() && !opts.force {
        check_columns(&target, &f.path, &shown, &f.columns)?;
        return Ok(Outcome::Present);
    }
    if let Some(mirror) = &opts.from {
        return copy_from_mirror(f, mirror, &target, opts, progress);
    }
    let Some(url) = &f.url else {
        return Ok(Outcome::Manual(
            f.manual
                .clone()
                .unwrap_or_else(|| "no download address known".into()),
        ));
    };
    let download = obtain(url, f, data_dir, opts, progress)?;
    let ready = make_file(f, &download, url, &target, opts)?;
    persist(ready, &target)?;
    Ok(Outcome::Downloaded)
}

/// Convert a publisher's file the user downloaded (`standort data import`) into catalog
/// files `files` in `data_dir`, with the same checks as a download. Every file is converted
/// and checked before any is renamed into place: one that fails leaves all as they were.
pub fn import_files(
    files: &[&SourceFile],
    input: &Path,
    data_dir: &Path,
    opts: &FetchOptions,
) -> Result<()> {
    if !input.is_file() {
        return Err(Error::at(
            ErrorKind::Io,
            input.display().to_string(),
            "no such file",
        ));
    }
    let shown = input.display().to_string();
    let ready = files
        .iter()
        .map(|f| {
            let target = data_dir.join(&f.path);
            Ok((make_file(f, input, &shown, &target, opts)?, target))
        })
        .collect::<Result<Vec<_>>>()?;
    for (tmp, target) in ready {
        persist(tmp, &target)?;
    }
    Ok(())
}

/// The publisher's file → archive member (when the file is an archive) → converter →
/// checks; the result is a temporary file beside `target`, to be renamed into place.
/// `shown` names the publisher's file in errors.
fn make_file(
    f: &SourceFile,
    input: &Path,
    shown: &str,
    target: &Path,
    opts: &FetchOptions,
) -> Result<tempfile::NamedTempFile> {
    let extracted = match &f.member {
        Some(member) if is_archive(input)? => extract_member(input, member, shown, target)?,
        _ => None,
    };
    let source = extracted.as_ref().map_or(input, |t| t.path());
    let converted = match &f.convert {
        None => None,
        Some(name) => {
            let run = convert::converter(name)?;
            let mut tmp = temp_in(target)?;
            let mut w = std::io::BufWriter::new(tmp.as_file_mut());
            run(source, shown, &mut w)?;
            w.flush().map_err(|e| Error::io(target, &e))?;
            drop(w);
            Some(tmp)
        }
    };
    let out = match (converted, extracted) {
        (Some(t), _) | (None, Some(t)) => t,
        (None, None) => {
            let mut tmp = temp_in(target)?;
            let mut from = std::fs::File::open(input).map_err(|e| Error::io(input, &e))?;
            std::io::copy(&mut from, tmp.as_file_mut()).map_err(|e| Error::io(target, &e))?;
            tmp
        }
    };
    let checksums = !opts.no_verify && f.url_version.is_none();
    verify(out.path(), shown, f, checksums)?;
    Ok(out)
}

/// True for a zip or gzip (tar.gz) file.
fn is_archive(path: &Path) -> Result<bool> {
    let mut head = [0u8; 4];
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let n = file.read(&mut head).map_err(|e| Error::io(path, &e))?;
    Ok(n >= 2 && (head[..2] == [0x1f, 0x8b] || (n == 4 && head == *b"PK\x03\x04")))
}

/// The download of `url`, once per run; its size and SHA-256 checked against the catalog.
fn obtain(
    url: &str,
    f: &SourceFile,
    data_dir: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<std::sync::Arc<tempfile::TempPath>> {
    let cached = opts
        .downloads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(url)
        .cloned();
    if let Some(path) = cached {
        return Ok(path);
    }
    let tmp = download(url, &data_dir.join(".download"), progress)?;
    if !opts.no_verify {
        let as_reference = SourceFile {
            bytes: f.url_bytes,
            sha256: f.url_sha256.clone(),
            columns: Vec::new(),
            ..f.clone()
        };
        verify(tmp.path(), url, &as_reference, true)?;
    }
    let path = std::sync::Arc::new(tmp.into_temp_path());
    opts.downloads
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(url.to_string(), path.clone());
    Ok(path)
}

/// Copy a catalog file from a local mirror, checking it.
fn copy_from_mirror(
    f: &SourceFile,
    mirror: &Path,
    target: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<Outcome> {
    let src = mirror.join(&f.path);
    if !src.is_file() && f.optional {
        return Ok(Outcome::Skipped);
    }
    if !src.is_file() {
        return Err(Error::at(
            ErrorKind::Io,
            src.display().to_string(),
            "not in the mirror: no such file",
        ));
    }
    if src.canonicalize().ok() == target.canonicalize().ok() && target.exists() {
        return Ok(Outcome::Present);
    }
    let mut tmp = temp_in(target)?;
    let mut input = std::fs::File::open(&src).map_err(|e| Error::io(&src, &e))?;
    let total = input.metadata().ok().map(|m| m.len());
    copy_with_progress(&mut input, tmp.as_file_mut(), total, progress)
        .map_err(|e| Error::io(&src, &e))?;
    verify(tmp.path(), &src.display().to_string(), f, !opts.no_verify)?;
    persist(tmp, target)?;
    Ok(Outcome::Copied)
}

/// Download `url` into a temporary file beside `target`, checking its length.
fn download(
    url: &str,
    target: &Path,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> Result<tempfile::NamedTempFile> {
    let failed = |e: String| {
        Error::at(
            ErrorKind::Io,
            url.to_string(),
            format!("download failed: {e}"),
        )
    };
    let mut download = temp_in(target)?;
    // The platform's certificate store, not a bundled one: the CAs of a corporate proxy
    // that the system trusts are trusted here too.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .tls_config(
            ureq::tls::TlsConfig::builder()
                .root_certs(ureq::tls::RootCerts::PlatformVerifier)
                .build(),
        )
        .build()
        .into();
    let mut resp = agent.get(url).call().map_err(|e| failed(e.to_string()))?;
    let total = resp.body().content_length();
    let mut reader = resp.body_mut().with_config().limit(u64::MAX).reader();
    let got = copy_with_progress(&mut reader, download.as_file_mut(), total, progress)
        .map_err(|e| failed(e.to_string()))?;
    if let Some(t) = total.filter(|t| got != *t) {
        return Err(Error::at(
            ErrorKind::Io,
            url.to_string(),
            format!("download truncated: {got} of {t} bytes"),
        ));
    }
    Ok(download)
}

/// Extract `member` of a zip or tar.gz archive into a temporary file beside `target`; with a
/// pattern (`*.xlsx`) that no zip member matches, none (the input is the file itself).
fn extract_member(
    archive: &Path,
    member: &str,
    shown: &str,
    target: &Path,
) -> Result<Option<tempfile::NamedTempFile>> {
    let bad = |msg: String| Error::at(ErrorKind::Input, shown.to_string(), msg);
    let mut out = temp_in(target)?;
    let file = std::fs::File::open(archive).map_err(|e| Error::io(archive, &e))?;
    let mut head = [0u8; 2];
    std::fs::File::open(archive)
        .and_then(|mut f| f.read_exact(&mut head))
        .map_err(|e| Error::io(archive, &e))?;
    if head == [0x1f, 0x8b] {
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
        let entries = tar
            .entries()
            .map_err(|e| bad(format!("not a tar.gz archive: {e}")))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| bad(format!("corrupt tar.gz archive: {e}")))?;
            let hit = entry.path().is_ok_and(|p| p == Path::new(member));
            if hit {
                std::io::copy(&mut entry, out.as_file_mut())
                    .map_err(|e| bad(format!("corrupt tar.gz archive: {e}")))?;
                return Ok(Some(out));
            }
        }
        return Err(bad(format!("no member {member} in the archive")));
    }
    let mut zip = zip::ZipArchive::new(file).map_err(|e| bad(format!("not a zip archive: {e}")))?;
    // "*.xlsx": the first member with that ending; none means the file is itself the one
    // wanted (an .xlsx is a zip too).
    let name = match member.strip_prefix('*') {
        Some(ending) => match zip.file_names().filter(|n| n.ends_with(ending)).min() {
            Some(n) => n.to_string(),
            None => return Ok(None),
        },
        None => member.to_string(),
    };
    let mut entry = zip
        .by_name(&name)
        .map_err(|e| bad(format!("no member {member}: {e}")))?;
    std::io::copy(&mut entry, out.as_file_mut())
        .map_err(|e| bad(format!("corrupt zip archive: {e}")))?;
    Ok(Some(out))
}

fn copy_with_progress(
    from: &mut dyn Read,
    to: &mut std::fs::File,
    total: Option<u64>,
    progress: &mut dyn FnMut(u64, Option<u64>),
) -> std::io::Result<u64> {
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    loop {
        let n = from.read(&mut buf)?;
        if n == 0 {
            break;
        }
        to.write_all(&buf[..n])?;
        done += n as u64;
        progress(done, total);
    }
    to.flush()?;
    to.sync_all()?;
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_parses_and_names_every_default_layer_file() {
        let c = Catalog::parse(CATALOG, Path::new("catalog.toml")).unwrap();
        assert!(c.sources.len() >= 5);
        let set = crate::layers::LayerSet::default_set(Some(Path::new("/data"))).unwrap();
        for spec in set.specs() {
            assert!(
                c.find(&spec.path).is_some(),
                "layer {} file {} not in the catalog",
                spec.name,
                spec.path.display()
            );
            if let Some(j) = &spec.join {
                assert!(
                    c.find(&j.path).is_some(),
                    "join file {} not in the catalog",
                    j.path.display()
                );
            }
        }
        for s in &c.sources {
            for f in &s.files {
                assert!(
                    f.url.is_some() || f.manual.is_some(),
                    "{}: no url and no manual",
                    f.path.display()
                );
            }
        }
    }

    #[test]
    fn mirror_copy_is_verified_and_atomic() {
        let mirror = tempfile::tempdir().unwrap();
        let data = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(mirror.path().join("t")).unwrap();
        std::fs::write(mirror.path().join("t/a.csv"), "x,y\n1,2\n").unwrap();
        let mut f = SourceFile {
            path: "t/a.csv".into(),
            columns: vec!["x".into(), "y".into()],
            bytes: Some(8),
            sha256: None,
            url: None,
            member: None,
            url_version: None,
            url_bytes: None,
            url_sha256: None,
            convert: None,
            manual: Some("by hand".into()),
            optional: false,
        };
        let opts = FetchOptions {
            from: Some(mirror.path().to_path_buf()),
            ..Default::default()
        };
        assert_eq!(
            fetch_file(&f, data.path(), &opts, &mut |_, _| {}).unwrap(),
            Outcome::Copied
        );
        assert_eq!(
            fetch_file(&f, data.path(), &opts, &mut |_, _| {}).unwrap(),
            Outcome::Present
        );
        // A wrong checksum: error, and the present file is not replaced by a partial one.
        f.sha256 = Some("00".into());
        let force = FetchOptions {
            force: true,
            ..opts.clone()
        };
        let e = fetch_file(&f, data.path(), &force, &mut |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("SHA-256"), "{e}");
        let names: Vec<_> = std::fs::read_dir(data.path().join("t"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a.csv")]);
        // Missing columns.
        f.sha256 = None;
        f.columns.push("z".into());
        let e = fetch_file(&f, data.path(), &force, &mut |_, _| {}).unwrap_err();
        assert!(e.to_string().contains("lacks expected column(s) z"), "{e}");
        // No url, no mirror: manual.
        let e = fetch_file(
            &f,
            tempfile::tempdir().unwrap().path(),
            &FetchOptions::default(),
            &mut |_, _| {},
        )
        .unwrap();
        assert_eq!(e, Outcome::Manual("by hand".into()));
    }
}
