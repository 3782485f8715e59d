//! The issuer graph: which entry defines each name, and an order that
//! generates every issuer before its subjects.

use super::spec::{PkiSpec, Role};
use std::collections::HashMap;

/// A node of the issuer graph: a `[[cert]]` entry or a `[[bulk]]` table (by index).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Node {
    Cert(usize),
    Bulk(usize),
}

/// Every name of the PKI (named certs, `-cross` certs, bulk fillers) with the
/// node that defines it and its role.
pub type Owners = HashMap<String, (Node, Role)>;

/// Nodes in dependency order (issuers and cross-signers first), and the nodes
/// found to close an issuer cycle (each cycle reported once, at the node the
/// search came back to).
pub fn issuer_order(spec: &PkiSpec, owners: &Owners) -> (Vec<Node>, Vec<Node>) {
    let deps = |node: Node| -> Vec<Node> {
        let names: Vec<&String> = match node {
            Node::Cert(i) => spec.cert[i]
                .issuer
                .iter()
                .chain(spec.cert[i].cross_signed_by.iter())
                .collect(),
            Node::Bulk(b) => spec.bulk[b].issuer.iter().collect(),
        };
        names
            .into_iter()
            .filter_map(|n| owners.get(n).map(|(dep, _)| *dep))
            .filter(|dep| *dep != node)
            .collect()
    };
    let nodes = (0..spec.cert.len())
        .map(Node::Cert)
        .chain((0..spec.bulk.len()).map(Node::Bulk));
    #[derive(PartialEq)]
    enum State {
        OnPath,
        Done,
    }
    let mut state: HashMap<Node, State> = HashMap::new();
    let mut order = Vec::with_capacity(spec.cert.len() + spec.bulk.len());
    let mut cycles = Vec::new();
    for start in nodes {
        if state.contains_key(&start) {
            continue;
        }
        // Iterative DFS with an explicit stack: deep chains must not overflow.
        let mut stack = vec![(start, false)];
        while let Some((node, expanded)) = stack.pop() {
            if expanded {
                state.insert(node, State::Done);
                order.push(node);
                continue;
            }
            if state.contains_key(&node) {
                continue;
            }
            state.insert(node, State::OnPath);
            stack.push((node, true));
            for dep in deps(node) {
                match state.get(&dep) {
                    Some(State::Done) => {}
                    // Still on the path: this edge closes a cycle.
                    Some(State::OnPath) => cycles.push(dep),
                    None => stack.push((dep, false)),
                }
            }
        }
    }
    (order, cycles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::PkiSpec;

    fn spec(src: &str) -> PkiSpec {
        toml::from_str(src).unwrap()
    }

    fn owners(spec: &PkiSpec) -> Owners {
        spec.cert
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.clone(), (Node::Cert(i), c.role)))
            .collect()
    }

    #[test]
    fn issuers_come_first() {
        let s = spec(
            "[[cert]]\nname='leaf'\nrole='client'\nissuer='sub'\n\
             [[cert]]\nname='sub'\nrole='intermediate'\nissuer='root'\n\
             [[cert]]\nname='root'\nrole='root'\n",
        );
        let (order, cycles) = issuer_order(&s, &owners(&s));
        assert!(cycles.is_empty());
        assert_eq!(order, vec![Node::Cert(2), Node::Cert(1), Node::Cert(0)]);
    }

    #[test]
    fn each_cycle_is_reported_once() {
        let s = spec(
            "[[cert]]\nname='a'\nrole='intermediate'\nissuer='b'\n\
             [[cert]]\nname='b'\nrole='intermediate'\nissuer='a'\n\
             [[cert]]\nname='c'\nrole='intermediate'\nissuer='d'\n\
             [[cert]]\nname='d'\nrole='intermediate'\nissuer='c'\n",
        );
        let (order, cycles) = issuer_order(&s, &owners(&s));
        assert_eq!(cycles, vec![Node::Cert(0), Node::Cert(2)]);
        assert_eq!(order.len(), 4);
    }
}
