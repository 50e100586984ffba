//! Who may see, post in, edit, delete and create which conversation (SPEC.md §4).
//! Pure functions of the actor and the conversation's audience, used by the server to
//! enforce every request and frame, and by the browser only to hide what would be
//! refused anyway. Nothing here does I/O.

use crate::error::{ApiError, ErrorCode};
use crate::model::{Audience, ConversationKind, Message, OrganisationId, Role, User, UserId};

/// The parts of a user the rules look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub role: Role,
    pub organisation_id: OrganisationId,
}

impl From<&User> for Actor {
    fn from(user: &User) -> Self {
        Actor {
            id: user.id,
            role: user.role,
            organisation_id: user.organisation_id,
        }
    }
}

/// Things a user does to a conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    /// Know it exists, read its history, receive its live events.
    See,
    /// Send a message into it.
    Post,
    /// Edit a message one sent oneself.
    EditOwn,
    /// Delete a message one sent oneself.
    DeleteOwn,
    /// Delete somebody else's message (moderation).
    DeleteOthers,
}

/// The one question every check asks. An archived channel is read-only: it can be seen
/// and messages deleted from it, nothing more.
pub fn can(actor: &Actor, audience: &Audience, action: Action) -> bool {
    let sees = can_see(actor, audience);
    match action {
        Action::See | Action::DeleteOwn => sees,
        Action::Post | Action::EditOwn => sees && !audience.archived,
        Action::DeleteOthers => sees && actor.role == Role::Admin,
    }
}

/// [`can`], as the typed error a refusal is answered with: `forbidden`, or for an
/// archived channel a `forbidden` that says so.
pub fn check(actor: &Actor, audience: &Audience, action: Action) -> Result<(), ApiError> {
    if can(actor, audience, action) {
        Ok(())
    } else if audience.archived && can_see(actor, audience) {
        Err(ApiError::new(
            ErrorCode::Forbidden,
            "This channel is archived: its history can be read, nothing added.",
        ))
    } else {
        Err(ApiError::forbidden())
    }
}

/// Channels admit organisations and roles: someone of an admitted organisation with an
/// admitted role (admins see every channel, to manage it); direct and group
/// conversations admit exactly their members, even admins are not let in; order
/// threads admit internal staff and the organisations linked to the order.
pub fn can_see(actor: &Actor, audience: &Audience) -> bool {
    can_see_by_kind(actor.role, actor.organisation_id, audience)
        .unwrap_or_else(|| audience.members.contains(&actor.id))
}

/// Whether everyone with `role` in `organisation_id` sees a conversation with `audience`,
/// or `None` where it depends on who they are (direct and group conversations admit their
/// members). Lets the hub find a channel's audience without testing every user.
pub fn can_see_by_kind(
    role: Role,
    organisation_id: OrganisationId,
    audience: &Audience,
) -> Option<bool> {
    match audience.kind {
        ConversationKind::Channel => Some(
            role == Role::Admin
                || (audience.organisations.contains(&organisation_id)
                    && audience.roles.contains(&role)),
        ),
        ConversationKind::Order => {
            Some(role.is_internal() || audience.organisations.contains(&organisation_id))
        }
        ConversationKind::Direct | ConversationKind::Group => None,
    }
}

/// Whether someone of `role` may belong to an organisation that is (or is not) the
/// internal one: admins and members are staff, guests belong to a client or manufacturer.
/// Checked when an admin places someone and when a host's single sign-on does.
pub fn placement_fits(role: Role, internal_organisation: bool) -> bool {
    role.is_internal() == internal_organisation
}

/// Whether `actor` manages Parley: users, channels, settings, the audit log, exports.
pub fn can_administer(actor: &Actor) -> bool {
    actor.role == Role::Admin
}

/// Whether `actor` may change `message`'s text at `now_ms`: only its author (admins are
/// refused too: nobody edits other people's words), only within `edit_window_ms` of
/// sending, never once deleted.
pub fn check_edit(
    actor: &Actor,
    audience: &Audience,
    message: &Message,
    now_ms: i64,
    edit_window_ms: i64,
) -> Result<(), ApiError> {
    if !can_see(actor, audience) || message.deleted {
        return Err(ApiError::not_found("message"));
    }
    if message.sender_id != actor.id {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "Only its author may edit a message.",
        ));
    }
    check(actor, audience, Action::EditOwn)?;
    if now_ms - message.created_at_ms > edit_window_ms {
        return Err(ApiError::new(
            ErrorCode::EditWindowClosed,
            format!(
                "Messages may be edited for {} after sending; this one is older.",
                minutes(edit_window_ms)
            ),
        ));
    }
    Ok(())
}

/// Whether `actor` may delete `message`: its author any time, admins any message they
/// can see.
pub fn check_delete(actor: &Actor, audience: &Audience, message: &Message) -> Result<(), ApiError> {
    if !can_see(actor, audience) {
        return Err(ApiError::not_found("message"));
    }
    let action = if message.sender_id == actor.id {
        Action::DeleteOwn
    } else {
        Action::DeleteOthers
    };
    if !can(actor, audience, action) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "Only its author or an admin may delete a message.",
        ));
    }
    Ok(())
}

/// Whether `actor` may react to, or reply to, `message`: whoever may post in its
/// conversation, while it is not deleted.
pub fn check_respond(
    actor: &Actor,
    audience: &Audience,
    message: &Message,
) -> Result<(), ApiError> {
    if !can_see(actor, audience) || message.deleted {
        return Err(ApiError::not_found("message"));
    }
    check(actor, audience, Action::Post)
}

/// Fewest and most people in a group, its creator included (SPEC.md §3).
pub const GROUP_MIN: usize = 3;
pub const GROUP_MAX: usize = 9;

/// Whether `actor` may start groups at all: internal staff.
pub fn can_start_group(actor: &Actor) -> bool {
    actor.role.is_internal()
}

/// Whether `actor` may add people to a group with `audience` (its staff members).
pub fn can_add_to_group(actor: &Actor, audience: &Audience) -> bool {
    audience.kind == ConversationKind::Group && can_see(actor, audience) && actor.role.is_internal()
}

/// Whether `actor` may start a group with `others` (everyone but the creator): internal
/// staff may, with people they could message directly (guests included), 3–9 in all.
pub fn check_new_group(actor: &Actor, others: &[Actor]) -> Result<(), ApiError> {
    if !can_start_group(actor) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "Only staff may start a group.",
        ));
    }
    check_group_size(others.len() + 1)?;
    if others.iter().any(|o| !can_start_direct(actor, o)) {
        return Err(ApiError::not_found("person"));
    }
    Ok(())
}

/// Whether `actor` may add `others` to a group with `audience`: its internal members
/// may, up to [`GROUP_MAX`] people.
pub fn check_add_to_group(
    actor: &Actor,
    audience: &Audience,
    others: &[Actor],
) -> Result<(), ApiError> {
    if audience.kind != ConversationKind::Group || !can_see(actor, audience) {
        return Err(ApiError::not_found("group"));
    }
    if !can_add_to_group(actor, audience) {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "Only staff may add people to a group.",
        ));
    }
    let mut total = audience.members.len();
    for other in others {
        if !audience.members.contains(&other.id) {
            total += 1;
        }
        if !can_start_direct(actor, other) {
            return Err(ApiError::not_found("person"));
        }
    }
    check_group_size(total)
}

/// Whether `actor` may leave a conversation: a group they are in.
pub fn can_leave(actor: &Actor, audience: &Audience) -> bool {
    audience.kind == ConversationKind::Group && audience.members.contains(&actor.id)
}

/// Whether a group of `people` (its creator included) has an allowed size.
pub fn check_group_size(people: usize) -> Result<(), ApiError> {
    if (GROUP_MIN..=GROUP_MAX).contains(&people) {
        Ok(())
    } else {
        Err(ApiError::new(
            ErrorCode::BadRequest,
            format!("A group has {GROUP_MIN} to {GROUP_MAX} people; this one would have {people}."),
        ))
    }
}

/// "15 minutes", "1 minute", "30 seconds".
fn minutes(ms: i64) -> String {
    match ms / 60_000 {
        0 => format!("{} seconds", ms / 1000),
        1 => "1 minute".to_string(),
        n => format!("{n} minutes"),
    }
}

/// A direct message needs two different people, and guests may only message internal
/// staff (a client never reaches a manufacturer, or another client, directly).
pub fn can_start_direct(actor: &Actor, other: &Actor) -> bool {
    actor.id != other.id && (actor.role.is_internal() || other.role.is_internal())
}

/// Whose presence (online, away) a user is shown: internal staff see everyone; guests see
/// internal staff and the people of their own organisation.
pub fn can_see_user(viewer: &Actor, subject: &Actor) -> bool {
    viewer.role.is_internal()
        || subject.role.is_internal()
        || viewer.organisation_id == subject.organisation_id
}

/// A dashboard order is visible to whoever could see its thread.
pub fn can_see_order(actor: &Actor, linked: &[OrganisationId]) -> bool {
    can_see(actor, &Audience::order(linked.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;
    use ConversationKind::*;
    use Role::*;
    use rstest::rstest;

    const INTERNAL: OrganisationId = OrganisationId(1);
    const CLIENT: OrganisationId = OrganisationId(2);
    const MAKER: OrganisationId = OrganisationId(3);

    fn actor(role: Role) -> Actor {
        let (id, organisation_id) = match role {
            Admin => (UserId(1), INTERNAL),
            Member => (UserId(2), INTERNAL),
            Guest => (UserId(3), CLIENT),
        };
        Actor {
            id,
            role,
            organisation_id,
        }
    }

    /// A conversation of `kind` that admits the actor of `role` when `admits` is true.
    /// For internal staff an order thread always admits them; the table shows it.
    fn audience(kind: ConversationKind, role: Role, admits: bool) -> Audience {
        let me = actor(role);
        let (organisations, members) = match (kind, admits) {
            (Channel | Order, true) => (vec![INTERNAL, me.organisation_id], vec![]),
            (Channel, false) if role.is_internal() => (vec![CLIENT, MAKER], vec![]),
            (Channel, false) => (vec![INTERNAL, MAKER], vec![]),
            (Order, false) => (vec![MAKER], vec![]),
            (Direct, true) => (vec![], vec![me.id, UserId(9)]),
            (Group, true) => (vec![], vec![me.id, UserId(8), UserId(9)]),
            (Direct | Group, false) => (vec![], vec![UserId(8), UserId(9)]),
        };
        match kind {
            Channel => Audience::channel(organisations, Role::ALL.to_vec()),
            Order => Audience::order(organisations),
            Direct | Group => Audience::members(kind, members),
        }
    }

    // Columns: see, post, edit own, delete own, delete others. (Who may create what is
    // its own rule: can_administer for channels, can_start_group, can_start_direct, and
    // can_see_order for order threads.)
    #[rstest]
    #[case(Admin, Channel, true, [true, true, true, true, true])]
    #[case(Admin, Channel, false, [true, true, true, true, true])]
    #[case(Member, Channel, true, [true, true, true, true, false])]
    #[case(Member, Channel, false, [false, false, false, false, false])]
    #[case(Guest, Channel, true, [true, true, true, true, false])]
    #[case(Guest, Channel, false, [false, false, false, false, false])]
    #[case(Admin, Direct, true, [true, true, true, true, true])]
    #[case(Admin, Direct, false, [false, false, false, false, false])]
    #[case(Member, Direct, true, [true, true, true, true, false])]
    #[case(Member, Direct, false, [false, false, false, false, false])]
    #[case(Guest, Direct, true, [true, true, true, true, false])]
    #[case(Guest, Direct, false, [false, false, false, false, false])]
    #[case(Admin, Group, true, [true, true, true, true, true])]
    #[case(Admin, Group, false, [false, false, false, false, false])]
    #[case(Member, Group, true, [true, true, true, true, false])]
    #[case(Member, Group, false, [false, false, false, false, false])]
    #[case(Guest, Group, true, [true, true, true, true, false])]
    #[case(Guest, Group, false, [false, false, false, false, false])]
    #[case(Admin, Order, true, [true, true, true, true, true])]
    #[case(Admin, Order, false, [true, true, true, true, true])]
    #[case(Member, Order, true, [true, true, true, true, false])]
    #[case(Member, Order, false, [true, true, true, true, false])]
    #[case(Guest, Order, true, [true, true, true, true, false])]
    #[case(Guest, Order, false, [false, false, false, false, false])]
    fn role_kind_action_table(
        #[case] role: Role,
        #[case] kind: ConversationKind,
        #[case] admits: bool,
        #[case] expected: [bool; 5],
    ) {
        let who = actor(role);
        let conv = audience(kind, role, admits);
        let actions = [
            Action::See,
            Action::Post,
            Action::EditOwn,
            Action::DeleteOwn,
            Action::DeleteOthers,
        ];
        for (action, want) in actions.into_iter().zip(expected) {
            assert_eq!(
                can(&who, &conv, action),
                want,
                "{role:?} {action:?} in a {kind:?} that {} them",
                if admits { "admits" } else { "does not admit" }
            );
        }
    }

    #[rstest]
    #[case(Admin, Member, true)]
    #[case(Admin, Guest, true)]
    #[case(Member, Guest, true)]
    #[case(Guest, Admin, true)]
    #[case(Guest, Member, true)]
    #[case(Guest, Guest, false)]
    fn direct_messages_need_internal_staff_on_one_side(
        #[case] from: Role,
        #[case] to: Role,
        #[case] allowed: bool,
    ) {
        let a = actor(from);
        let b = Actor {
            id: UserId(42),
            role: to,
            organisation_id: if to.is_internal() { INTERNAL } else { MAKER },
        };
        assert_eq!(can_start_direct(&a, &b), allowed);
    }

    #[test]
    fn nobody_messages_themselves() {
        let a = actor(Admin);
        assert!(!can_start_direct(&a, &a));
    }

    #[rstest]
    #[case(Admin, Guest, MAKER, true)]
    #[case(Member, Guest, MAKER, true)]
    #[case(Guest, Admin, INTERNAL, true)]
    #[case(Guest, Member, INTERNAL, true)]
    #[case(Guest, Guest, CLIENT, true)]
    #[case(Guest, Guest, MAKER, false)]
    fn presence_is_shown_to_those_who_may_talk(
        #[case] viewer: Role,
        #[case] subject: Role,
        #[case] subject_org: OrganisationId,
        #[case] visible: bool,
    ) {
        let subject = Actor {
            id: UserId(50),
            role: subject,
            organisation_id: subject_org,
        };
        assert_eq!(can_see_user(&actor(viewer), &subject), visible);
    }

    #[rstest]
    #[case(Admin, &[CLIENT], true)]
    #[case(Member, &[MAKER], true)]
    #[case(Guest, &[CLIENT], true)]
    #[case(Guest, &[CLIENT, MAKER], true)]
    #[case(Guest, &[MAKER], false)]
    fn orders_follow_their_thread(
        #[case] role: Role,
        #[case] linked: &[OrganisationId],
        #[case] visible: bool,
    ) {
        assert_eq!(can_see_order(&actor(role), linked), visible);
    }

    fn message_by(sender: UserId, created_at_ms: i64) -> Message {
        Message::new(
            crate::model::MessageId(1),
            crate::model::ConversationId(1),
            1,
            (sender, "Someone".into()),
            uuid::Uuid::nil(),
            "hello".into(),
            created_at_ms,
        )
    }

    const WINDOW: i64 = 15 * 60_000;

    #[rstest]
    // Own message, inside the window: allowed, for every role.
    #[case(Admin, true, 0, None)]
    #[case(Member, true, WINDOW, None)]
    #[case(Guest, true, 1_000, None)]
    // After the window.
    #[case(Member, true, WINDOW + 1, Some(ErrorCode::EditWindowClosed))]
    // Somebody else's words: refused, admins included.
    #[case(Admin, false, 0, Some(ErrorCode::Forbidden))]
    #[case(Member, false, 0, Some(ErrorCode::Forbidden))]
    fn only_authors_edit_within_the_window(
        #[case] role: Role,
        #[case] own: bool,
        #[case] age_ms: i64,
        #[case] refused: Option<ErrorCode>,
    ) {
        let who = actor(role);
        let sender = if own { who.id } else { UserId(77) };
        let conv = audience(Channel, role, true);
        let message = message_by(sender, 1_000_000);
        let result = check_edit(&who, &conv, &message, 1_000_000 + age_ms, WINDOW);
        assert_eq!(result.err().map(|e| e.code), refused);
    }

    #[test]
    fn deleted_and_unseen_messages_are_not_found() {
        let who = actor(Member);
        let mut message = message_by(who.id, 0);
        message.deleted = true;
        let seen = audience(Channel, Member, true);
        let unseen = audience(Channel, Member, false);
        assert_eq!(
            check_edit(&who, &seen, &message, 0, WINDOW)
                .unwrap_err()
                .code,
            ErrorCode::NotFound
        );
        assert_eq!(
            check_respond(&who, &seen, &message).unwrap_err().code,
            ErrorCode::NotFound
        );
        let fresh = message_by(UserId(77), 0);
        for result in [
            check_edit(&who, &unseen, &fresh, 0, WINDOW),
            check_delete(&who, &unseen, &fresh),
            check_respond(&who, &unseen, &fresh),
        ] {
            assert_eq!(result.unwrap_err().code, ErrorCode::NotFound);
        }
    }

    #[rstest]
    #[case(Admin, false, true)]
    #[case(Admin, true, true)]
    #[case(Member, true, true)]
    #[case(Member, false, false)]
    #[case(Guest, true, true)]
    #[case(Guest, false, false)]
    fn authors_and_admins_delete(#[case] role: Role, #[case] own: bool, #[case] allowed: bool) {
        let who = actor(role);
        let sender = if own { who.id } else { UserId(77) };
        let message = message_by(sender, 0);
        let conv = audience(Order, role, true);
        assert_eq!(check_delete(&who, &conv, &message).is_ok(), allowed);
    }

    #[test]
    fn groups_are_started_by_staff_with_three_to_nine_people() {
        let guest = |id| Actor {
            id: UserId(id),
            role: Guest,
            organisation_id: CLIENT,
        };
        let staff = actor(Member);
        let two: Vec<Actor> = (10..12).map(guest).collect();
        let one: Vec<Actor> = (10..11).map(guest).collect();
        let nine: Vec<Actor> = (10..19).map(guest).collect();
        assert!(check_new_group(&staff, &two).is_ok());
        assert_eq!(
            check_new_group(&staff, &one).unwrap_err().code,
            ErrorCode::BadRequest
        );
        assert_eq!(
            check_new_group(&staff, &nine).unwrap_err().code,
            ErrorCode::BadRequest
        );
        assert_eq!(
            check_new_group(&actor(Guest), &[staff, actor(Admin)])
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        let group = Audience::members(Group, vec![staff.id, UserId(10), UserId(11)]);
        assert!(check_add_to_group(&staff, &group, &[guest(12)]).is_ok());
        assert_eq!(
            check_add_to_group(&guest(10), &group, &[guest(12)])
                .unwrap_err()
                .code,
            ErrorCode::Forbidden
        );
        let more: Vec<Actor> = (12..19).map(guest).collect();
        assert_eq!(
            check_add_to_group(&staff, &group, &more).unwrap_err().code,
            ErrorCode::BadRequest
        );
        assert!(can_leave(&guest(10), &group) && !can_leave(&guest(12), &group));
    }

    #[test]
    fn only_admins_administer() {
        assert!(can_administer(&actor(Admin)));
        assert!(!can_administer(&actor(Member)));
        assert!(!can_administer(&actor(Guest)));
    }

    /// The demo world of SPEC.md §8: carol and dave never see `#internal`, carol never
    /// sees `#manufacturer`.
    #[test]
    fn demo_channels() {
        let channel =
            |orgs: &[OrganisationId]| Audience::channel(orgs.to_vec(), Role::ALL.to_vec());
        let internal = channel(&[INTERNAL]);
        let oracare = channel(&[INTERNAL, CLIENT]);
        let manufacturer = channel(&[INTERNAL, MAKER]);
        let carol = actor(Guest);
        let dave = Actor {
            id: UserId(4),
            role: Guest,
            organisation_id: MAKER,
        };
        let bob = actor(Member);
        assert!(!can_see(&carol, &internal));
        assert!(!can_see(&dave, &internal));
        assert!(!can_see(&carol, &manufacturer));
        assert!(!can_see(&dave, &oracare));
        assert!(can_see(&carol, &oracare));
        assert!(can_see(&dave, &manufacturer));
        assert!(
            can_see(&bob, &internal) && can_see(&bob, &oracare) && can_see(&bob, &manufacturer)
        );
    }

    #[test]
    fn channels_admit_roles_as_well_as_organisations() {
        let staff_only = Audience::channel(vec![INTERNAL, CLIENT], vec![Admin, Member]);
        let guest = actor(Guest);
        let member = actor(Member);
        assert!(
            !can_see(&guest, &staff_only),
            "a client's guest is not a member"
        );
        assert!(can_see(&member, &staff_only));
        let admins_only = Audience::channel(vec![INTERNAL], vec![Admin]);
        assert!(!can_see(&member, &admins_only));
        assert!(can_see(&actor(Admin), &admins_only));
        // Admins see every channel, even one admitting no admins, to manage it.
        let guests_only = Audience::channel(vec![CLIENT], vec![Guest]);
        assert!(can_see(&actor(Admin), &guests_only));
        assert!(!can_see(&member, &guests_only));
    }

    #[test]
    fn an_archived_channel_is_read_only() {
        let mut archived = Audience::channel(vec![INTERNAL], Role::ALL.to_vec());
        archived.archived = true;
        let bob = actor(Member);
        assert!(can(&bob, &archived, Action::See));
        assert!(!can(&bob, &archived, Action::Post));
        assert!(!can(&bob, &archived, Action::EditOwn));
        assert!(can(&bob, &archived, Action::DeleteOwn));
        let refusal = check(&bob, &archived, Action::Post).unwrap_err();
        assert_eq!(refusal.code, ErrorCode::Forbidden);
        assert!(refusal.message.contains("archived"), "{}", refusal.message);
        let own = message_by(bob.id, 0);
        assert!(check_edit(&bob, &archived, &own, 1, 60_000).is_err());
        assert!(check_respond(&bob, &archived, &own).is_err());
    }
}
