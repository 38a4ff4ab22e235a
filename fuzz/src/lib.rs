//! Shared code of the fuzz targets: the structured inputs (`spec`), the properties
//! (`check`), the independent answers they are compared with (`oracle`), and the one module
//! that calls the filter's engine (`api`).

pub mod api;
pub mod check;
pub mod oracle;
pub mod seeds;
pub mod spec;
pub mod wire;
