//! What the four `track_*` lists of an instance or a sync group share:
//! each entry names a tracked object, with a weight and a sense.

use super::vrrp::{
    SyncGroup, TrackFileRef, TrackInterface, TrackProcessRef, TrackScript, VrrpInstance,
};

/// An entry of a `track_interface`, `track_script`, `track_file` or
/// `track_process` list.
pub trait TrackRef: Sized {
    /// The tracked object's name.
    fn name(&self) -> &str;
    /// Its weight (0: FAULT while down).
    fn weight(&self) -> i32;
    /// `reverse`.
    fn reverse(&self) -> bool;
    /// The entries of this kind `inst` lists.
    fn of_instance(inst: &VrrpInstance) -> &[Self];
    /// The entries of this kind `group` lists.
    fn of_group(group: &SyncGroup) -> &[Self];
}

macro_rules! track_ref {
    ($t:ty, $field:ident) => {
        impl TrackRef for $t {
            fn name(&self) -> &str {
                &self.name
            }
            fn weight(&self) -> i32 {
                self.weight
            }
            fn reverse(&self) -> bool {
                self.reverse
            }
            fn of_instance(inst: &VrrpInstance) -> &[Self] {
                &inst.$field
            }
            fn of_group(group: &SyncGroup) -> &[Self] {
                &group.$field
            }
        }
    };
}

track_ref!(TrackInterface, track_interfaces);
track_ref!(TrackScript, track_scripts);
track_ref!(TrackFileRef, track_files);
track_ref!(TrackProcessRef, track_processes);
