//! The raw proxy-wasm host calls the filter makes on the request path, and every `unsafe`
//! block of the crate.
//!
//! The SDK's map reader decodes names with `unwrap()` and its single-header getters do the
//! same to values, and its setters panic on any status but `Ok`: one header that is not UTF-8
//! would panic the VM, after which Envoy answers 503 to every request on that worker. These
//! take and return bytes, and report a failure instead of panicking. Same imports, same
//! signatures as the SDK's.

use std::ptr::null_mut;

use proxy_wasm::types::{MapType, Status};

#[link(wasm_import_module = "env")]
unsafe extern "C" {
    fn proxy_get_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
        return_value_data: *mut *mut u8,
        return_value_size: *mut usize,
    ) -> Status;
    fn proxy_get_header_map_pairs(
        map_type: MapType,
        return_map_data: *mut *mut u8,
        return_map_size: *mut usize,
    ) -> Status;
    fn proxy_replace_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
        value_data: *const u8,
        value_size: usize,
    ) -> Status;
    fn proxy_remove_header_map_value(
        map_type: MapType,
        key_data: *const u8,
        key_size: usize,
    ) -> Status;
}

/// Reads a whole header map in one host call: the serialized buffer `wire::decode_map` reads.
pub fn read_map(map_type: MapType) -> Option<Vec<u8>> {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: on success the host has allocated `size` bytes at `data` through the module's
    // `proxy_on_memory_allocate` (a `Vec<u8>` allocation of exactly that capacity), and hands
    // them over; this is how the SDK takes the same buffer.
    unsafe {
        match proxy_get_header_map_pairs(map_type, &mut data, &mut size) {
            Status::Ok if !data.is_null() => Some(Vec::from_raw_parts(data, size, size)),
            Status::Ok => Some(Vec::new()),
            _ => None,
        }
    }
}

/// Whether the response has this header. Anything but a clear "not found" counts as present,
/// which sends the caller to the path that reads the whole map.
pub fn response_has(name: &[u8]) -> bool {
    let mut data: *mut u8 = null_mut();
    let mut size: usize = 0;
    // SAFETY: the name is valid for the call; on success the host hands over a buffer it
    // allocated through `proxy_on_memory_allocate`, freed here as in `read_map`.
    unsafe {
        match proxy_get_header_map_value(
            MapType::HttpResponseHeaders,
            name.as_ptr(),
            name.len(),
            &mut data,
            &mut size,
        ) {
            Status::NotFound => false,
            Status::Ok if !data.is_null() => {
                drop(Vec::from_raw_parts(data, size, size));
                true
            }
            _ => true,
        }
    }
}

/// Sets one response header, replacing every line of it.
pub fn replace_response_header(name: &[u8], value: &[u8]) {
    // SAFETY: both slices are valid for the duration of the call; the host copies them.
    let _ = unsafe {
        proxy_replace_header_map_value(
            MapType::HttpResponseHeaders,
            name.as_ptr(),
            name.len(),
            value.as_ptr(),
            value.len(),
        )
    };
}

/// Removes every line of one response header.
pub fn remove_response_header(name: &[u8]) {
    // SAFETY: the slice is valid for the duration of the call; the host copies it.
    let _ = unsafe {
        proxy_remove_header_map_value(MapType::HttpResponseHeaders, name.as_ptr(), name.len())
    };
}
