//! Prize fulfilment: the states a won place goes through, from the draw to the winner's door.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::validation::FieldError;

/// pending → winner_notified → address_confirmed → shipped → delivered; an address found
/// invalid (before or after shipping) goes back to address_confirmed once the winner fixes it; a
/// place not claimed in time is forfeited and its prize goes to the next alternate, who waits as
/// standby until then and becomes pending when it takes the prize over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentStatus {
    /// An alternate, not (yet) holding a prize.
    Standby,
    Pending,
    WinnerNotified,
    AddressConfirmed,
    AddressInvalid,
    Shipped,
    Delivered,
    Forfeited,
}

impl FulfilmentStatus {
    pub const ALL: [FulfilmentStatus; 8] = [
        Self::Standby,
        Self::Pending,
        Self::WinnerNotified,
        Self::AddressConfirmed,
        Self::AddressInvalid,
        Self::Shipped,
        Self::Delivered,
        Self::Forfeited,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standby => "standby",
            Self::Pending => "pending",
            Self::WinnerNotified => "winner_notified",
            Self::AddressConfirmed => "address_confirmed",
            Self::AddressInvalid => "address_invalid",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Forfeited => "forfeited",
        }
    }

    /// Whether a place may go from `self` to `next`.
    pub fn can_become(self, next: FulfilmentStatus) -> bool {
        use FulfilmentStatus::*;
        matches!(
            (self, next),
            (Standby, Pending)
                | (Pending, WinnerNotified)
                | (WinnerNotified, AddressConfirmed)
                | (AddressConfirmed, Shipped)
                | (AddressConfirmed, AddressInvalid)
                | (Shipped, AddressInvalid)
                | (AddressInvalid, AddressConfirmed)
                | (Shipped, Delivered)
                | (Pending | WinnerNotified | AddressInvalid, Forfeited)
        )
    }

    /// The winner still has to act: the claim deadline runs.
    pub fn awaits_winner(self) -> bool {
        matches!(self, Self::WinnerNotified | Self::AddressInvalid)
    }

    pub fn is_final(self) -> bool {
        matches!(self, Self::Delivered | Self::Forfeited)
    }
}

impl fmt::Display for FulfilmentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FulfilmentStatus {
    type Err = FieldError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| FieldError::new("status", "invalid_status", "not a fulfilment status"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_happy_path_and_the_recovery() {
        use FulfilmentStatus::*;
        let path = [Pending, WinnerNotified, AddressConfirmed, Shipped, Delivered];
        assert!(path.windows(2).all(|w| w[0].can_become(w[1])));
        assert!(AddressConfirmed.can_become(AddressInvalid) && AddressInvalid.can_become(AddressConfirmed));
        assert!(!Delivered.can_become(Forfeited));
        assert!(!Shipped.can_become(Forfeited), "a shipped prize is not taken back by a timeout");
        assert!(Standby.can_become(Pending) && !Standby.can_become(WinnerNotified), "an alternate takes a prize over");
    }

    proptest! {
        /// Nothing leaves a final state, nothing returns to standby, only an alternate becomes
        /// pending, and every state but the final ones leads somewhere.
        #[test]
        fn the_machine(from in prop::sample::select(FulfilmentStatus::ALL.to_vec()),
                       to in prop::sample::select(FulfilmentStatus::ALL.to_vec())) {
            if from.is_final() { prop_assert!(!from.can_become(to)); }
            if to == FulfilmentStatus::Standby { prop_assert!(!from.can_become(to)); }
            if to == FulfilmentStatus::Pending { prop_assert_eq!(from.can_become(to), from == FulfilmentStatus::Standby); }
            prop_assert!(!from.can_become(from));
            let onward = FulfilmentStatus::ALL.iter().any(|n| from.can_become(*n));
            prop_assert_eq!(onward, !from.is_final());
        }
    }
}
