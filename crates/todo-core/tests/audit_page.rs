//! Paging the audit log newest first: parameters, cursors, stability.

use todo_core::audit::page::PageQuery;

fn plan(query: &str, head: u64) -> (Vec<u64>, Option<String>) {
    let plan = PageQuery::parse(query).unwrap().plan(head);
    (plan.seqs, plan.next_cursor)
}

#[test]
fn pages_walk_down_to_the_first_entry() {
    assert_eq!(plan("limit=2", 5), (vec![5, 4], Some("3".into())));
    assert_eq!(plan("limit=2&cursor=3", 5), (vec![3, 2], Some("1".into())));
    assert_eq!(plan("limit=2&cursor=1", 5), (vec![1], None));
    assert_eq!(plan("", 5), ((1..=5).rev().collect(), None));
    assert_eq!(plan("", 0), (vec![], None));
    assert_eq!(plan("limit=5", 5), ((1..=5).rev().collect(), None));
    // An empty cursor is the first page; a cursor past the head starts there.
    assert_eq!(plan("cursor=&limit=1", 3), (vec![3], Some("2".into())));
    assert_eq!(plan("cursor=99&limit=1", 3), (vec![3], Some("2".into())));
}

#[test]
fn entries_appended_between_pages_do_not_shift_them() {
    let (first, next) = plan("limit=3", 10);
    assert_eq!(first, vec![10, 9, 8]);
    // Two more entries arrive; the next page still continues at 7.
    let (second, _) = plan(&format!("limit=3&cursor={}", next.unwrap()), 12);
    assert_eq!(second, vec![7, 6, 5]);
}

#[test]
fn bad_parameters_are_400_naming_each() {
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=-1", "limit"),
        ("limit=ten", "limit"),
        ("limit=1&limit=2", "limit"),
        ("cursor=abc", "cursor"),
        ("cursor=0", "cursor"),
        ("cursor=+3", "cursor"),
        ("sort=seq", "sort"),
    ] {
        let problem = PageQuery::parse(query).unwrap_err();
        assert_eq!(problem.status, 400, "{query}");
        assert_eq!(problem.errors[0].field, field, "{query}");
    }
    let both = PageQuery::parse("limit=x&cursor=y").unwrap_err();
    assert_eq!(both.errors.len(), 2);
}
