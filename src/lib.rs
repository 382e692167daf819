#![doc = include_str!("../README.md")]
//!
//! # Library
//!
//! The flow is one-way: [`layers`] are read and [`index`]ed, a [`profile::Profile`] is
//! bound to them in an [`Engine`], sites are streamed through [`batch::score_sites`], and
//! [`export`] writes the results. The library never prints and never exits.
//!
//! ```
//! use standort::{Engine, LayerSet, Profile};
//! use std::path::Path;
//!
//! let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
//! let layers = LayerSet::from_file(&dir.join("layers.toml"), None).unwrap();
//! let profile = Profile::from_file(&dir.join("profile.toml")).unwrap();
//! let engine = Engine::new(profile, &layers).unwrap();
//! let e = engine.evaluate(10.0, 0.0);
//! assert_eq!(e.status, standort::Status::Ok);
//! // 0.4 degrees along the equator to the nearest plant of 100 MW or more.
//! let km = e.values[0].raw.as_f64().unwrap();
//! assert!((km - 0.4 * standort::geodesy::EARTH_RADIUS_KM.to_radians()).abs() < 1e-6);
//! ```

pub mod batch;
pub mod boundaries;
pub mod catalog;
pub mod engine;
pub mod error;
pub mod export;
pub mod feature_stream;
pub mod geodesy;
pub mod index;
pub mod layers;
pub mod map;
pub(crate) mod mapped;
pub mod measure;
pub mod plan;
pub mod profile;
pub mod region;
pub mod sensitivity;
pub mod sites;
pub mod text;

pub use batch::{Batch, ScoredSite, Summary, score_sites};
pub use engine::{CriterionValue, Engine, Evaluation, Status};
pub use error::{Error, ErrorKind, Result};
pub use layers::{Layer, LayerKind, LayerSet};
pub use profile::{Profile, UnknownPolicy};
pub use sites::{Site, SiteOptions, SiteSource};
