//! The cells of a table: every combination of every dimension's levels.
//!
//! A dimension has *positions*: its categories (plus `unknown` when the
//! population has it), then its groups when it rolls up (municipality ->
//! county), then the total `_T`. A person-year in category `c` contributes to
//! `c`, to `c`'s group, and to the total; a cell's contributors are the
//! person-years whose positions it lists, one per dimension. Cells are
//! numbered in row-major order of positions.

use reglink_link::study::Categories;

/// The code of a dimension's total.
pub const TOTAL: &str = "_T";
/// The category of values that are missing or not in the code list.
pub const UNKNOWN: &str = "unknown";

/// One dimension of a table.
#[derive(Debug, Clone)]
pub struct Dimension {
    /// The variable's name.
    pub name: String,
    /// Category codes (including `unknown` if present).
    pub categories: Vec<String>,
    /// Category labels.
    pub labels: Vec<String>,
    /// With a rollup: the group index of each category.
    pub group_of: Option<Vec<u32>>,
    /// With a rollup: group codes.
    pub groups: Vec<String>,
    /// Index of `unknown` among the categories, if present.
    pub unknown: Option<u32>,
}

impl Dimension {
    /// Builds a dimension from a variable's categories; `unknown` adds the
    /// `unknown` category (and group).
    pub fn new(name: &str, categories: &Categories, has_unknown: bool) -> Dimension {
        let mut d = Dimension {
            name: name.to_string(),
            categories: categories.codes.clone(),
            labels: categories.labels.clone(),
            group_of: categories.group_of.clone(),
            groups: categories.groups.clone(),
            unknown: None,
        };
        if has_unknown {
            // A code list may already have a category `unknown` (a region of
            // birth group, an exit reason group): missing values join it.
            if let Some(existing) = d.categories.iter().position(|c| c == UNKNOWN) {
                d.unknown = Some(existing as u32);
                return d;
            }
            d.unknown = Some(d.categories.len() as u32);
            d.categories.push(UNKNOWN.to_string());
            d.labels.push(UNKNOWN.to_string());
            if let Some(g) = d.group_of.as_mut() {
                let group = match d.groups.iter().position(|x| x == UNKNOWN) {
                    Some(existing) => existing,
                    None => {
                        d.groups.push(UNKNOWN.to_string());
                        d.groups.len() - 1
                    }
                };
                g.push(group as u32);
            }
        }
        d
    }

    /// Number of positions: categories, groups, total.
    pub fn positions(&self) -> usize {
        self.categories.len() + self.rollup_groups() + 1
    }

    fn rollup_groups(&self) -> usize {
        if self.group_of.is_some() {
            self.groups.len()
        } else {
            0
        }
    }

    /// Number of levels: 2, or 3 with a rollup.
    pub fn levels(&self) -> u8 {
        if self.group_of.is_some() { 3 } else { 2 }
    }

    /// The code and level of a position.
    pub fn position(&self, p: usize) -> (&str, u8) {
        let n = self.categories.len();
        if p < n {
            (&self.categories[p], 0)
        } else if p < n + self.rollup_groups() {
            (&self.groups[p - n], 1)
        } else {
            (TOTAL, self.levels() - 1)
        }
    }

    /// The positions a category contributes to: itself, its group, the total.
    pub fn ancestors(&self, category: u32, out: &mut Vec<u32>) {
        out.clear();
        out.push(category);
        if let Some(g) = &self.group_of {
            out.push((self.categories.len() as u32) + g[category as usize]);
        }
        out.push(self.positions() as u32 - 1);
    }
}

/// Mixed-radix numbering of cells.
#[derive(Debug, Clone)]
pub struct Shape {
    /// Positions per dimension.
    pub sizes: Vec<usize>,
    strides: Vec<usize>,
}

impl Shape {
    /// The shape of `dims`.
    pub fn new(dims: &[Dimension]) -> Shape {
        let sizes: Vec<usize> = dims.iter().map(Dimension::positions).collect();
        let mut strides = vec![1; sizes.len()];
        for d in (0..sizes.len().saturating_sub(1)).rev() {
            strides[d] = strides[d + 1] * sizes[d + 1];
        }
        Shape { sizes, strides }
    }

    /// Number of cells.
    pub fn cells(&self) -> usize {
        self.sizes.iter().product()
    }

    /// How far apart cells one position apart in dimension `d` are.
    pub fn stride(&self, d: usize) -> usize {
        self.strides[d]
    }

    /// The position of cell `cell` in dimension `d`.
    pub fn position(&self, cell: usize, d: usize) -> usize {
        (cell / self.strides[d]) % self.sizes[d]
    }

    /// Calls `f` with every cell a row with these per-dimension ancestor lists contributes to.
    pub fn for_each_cell(&self, ancestors: &[Vec<u32>], f: &mut impl FnMut(usize)) {
        fn go(
            shape: &Shape,
            ancestors: &[Vec<u32>],
            d: usize,
            base: usize,
            f: &mut impl FnMut(usize),
        ) {
            if d == ancestors.len() {
                f(base);
                return;
            }
            for &p in &ancestors[d] {
                go(
                    shape,
                    ancestors,
                    d + 1,
                    base + p as usize * shape.strides[d],
                    f,
                );
            }
        }
        go(self, ancestors, 0, 0, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn municipality() -> Dimension {
        let cats = Categories {
            codes: vec!["0180".into(), "0114".into(), "0380".into()],
            labels: vec!["a".into(), "b".into(), "c".into()],
            group_of: Some(vec![0, 0, 1]),
            groups: vec!["01".into(), "03".into()],
        };
        Dimension::new("municipality", &cats, false)
    }

    #[test]
    fn positions_are_categories_then_groups_then_total() {
        let d = municipality();
        assert_eq!(d.positions(), 6);
        assert_eq!(d.position(1), ("0114", 0));
        assert_eq!(d.position(4), ("03", 1));
        assert_eq!(d.position(5), (TOTAL, 2));
        let mut a = Vec::new();
        d.ancestors(2, &mut a);
        assert_eq!(a, [2, 4, 5]);
    }

    #[test]
    fn unknown_gets_its_own_group_under_a_rollup() {
        let cats = Categories {
            codes: vec!["0180".into()],
            labels: vec!["a".into()],
            group_of: Some(vec![0]),
            groups: vec!["01".into()],
        };
        let d = Dimension::new("m", &cats, true);
        assert_eq!(d.categories, ["0180", UNKNOWN]);
        assert_eq!(d.groups, ["01", UNKNOWN]);
        let mut a = Vec::new();
        d.ancestors(1, &mut a);
        assert_eq!(a, [1, 3, 4]);
    }

    #[test]
    fn a_category_called_unknown_is_not_added_twice() {
        let d = Dimension::new("region", &Categories::plain(&["sweden", "unknown"]), true);
        assert_eq!(d.categories, ["sweden", UNKNOWN]);
        assert_eq!(d.unknown, Some(1));
    }

    #[test]
    fn every_combination_of_ancestors_is_visited_once() {
        let sex = Dimension::new("sex", &Categories::plain(&["men", "women"]), false);
        let dims = [municipality(), sex];
        let shape = Shape::new(&dims);
        assert_eq!(shape.cells(), 6 * 3);
        let mut cells = Vec::new();
        shape.for_each_cell(&[vec![2, 4, 5], vec![1, 2]], &mut |c| cells.push(c));
        assert_eq!(cells.len(), 6);
        for (i, &c) in cells.iter().enumerate() {
            assert_eq!(shape.position(c, 0), [2, 2, 4, 4, 5, 5][i]);
            assert_eq!(shape.position(c, 1), [1, 2, 1, 2, 1, 2][i]);
        }
    }
}
