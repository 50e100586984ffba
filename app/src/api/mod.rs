//! Server functions: the request/response half of Parley (history, lists, opening
//! conversations). Each one resolves the signed-in user, then hands the work to the
//! server's [`backend::Backend`], which owns the rules checks and the storage. The live
//! half is the WebSocket protocol in [`crate::protocol`].

#[cfg(feature = "ssr")]
pub mod backend;
#[cfg(feature = "ssr")]
pub use backend::{respond_forbidden, respond_not_found, respond_with_script_policy};

/// In the browser a page cannot set its HTTP status.
#[cfg(not(feature = "ssr"))]
pub fn respond_not_found() {}

/// In the browser a page cannot set its headers.
#[cfg(not(feature = "ssr"))]
pub fn respond_with_script_policy() {}

/// In the browser a page cannot set its HTTP status.
#[cfg(not(feature = "ssr"))]
pub fn respond_forbidden() {}

mod admin;
mod api_tokens;
mod bootstrap;
mod connection_mode;
mod conversation;
mod delete_message;
mod edit_history;
mod edit_message;
mod edit_window;
mod groups;
mod history;
mod history_after;
mod members;
mod open_direct;
mod orders;
mod people;
mod preferences;
mod react;
mod search;
mod threads;

pub use admin::{
    ChangeChannel, ChangeUser, CreateChannel, CreateUser, GetAdminOverview, ResetPassword,
    SaveSettings, SetUserDisabled, change_channel, change_user, create_channel, create_user,
    get_admin_overview, reset_password, save_settings, set_user_disabled,
};
pub use api_tokens::{
    ApiTokens, CreateApiToken, RevokeApiToken, api_tokens, create_api_token, revoke_api_token,
};
pub use bootstrap::{GetBootstrap, get_bootstrap};
pub use connection_mode::{
    GetConnectionMode, SetConnectionMode, get_connection_mode, set_connection_mode,
};
pub use conversation::{GetConversation, get_conversation};
pub use delete_message::{DeleteMessage, delete_message};
pub use edit_history::{EditHistory, edit_history};
pub use edit_message::{EditMessage, edit_message};
pub use edit_window::{GetEditWindow, SetEditWindow, get_edit_window, set_edit_window};
pub use groups::{AddToGroup, CreateGroup, LeaveGroup, add_to_group, create_group, leave_group};
pub use history::{ListHistory, list_history};
pub use history_after::{ListAfter, list_after};
pub use members::{ListMembers, list_members};
pub use open_direct::{OpenDirect, open_direct};
pub use orders::{GetOrder, ListOrders, get_order, list_orders};
pub use people::{ListPeople, list_people};
pub use preferences::{
    EmailPreferences, SetEmailNotifications, SetMuted, SetTheme, email_preferences,
    set_email_notifications, set_muted, set_theme,
};
pub use react::{React, react};
pub use search::{SearchMessages, search_messages};
pub use threads::{
    GetThreadSubject, OpenOrderThread, OpenThread, get_thread_subject, open_order_thread,
    open_thread,
};
