from oracle import check, model, td


def test_td_dense_chain(tmp_path):
    check(
        tmp_path,
        model(
            [10, 16],
            td({"type": "Dense", "units": 8, "activation": "relu"}),
            td({"type": "Dense", "units": 4}),
            {"type": "Softmax"},
        ),
    )
