import Testing
@testable import DistillWatchCore

/// Account partitioning (shards): ClickHouse's CityHash64, `k/N` parsing, and the link-key
/// ledger a shard writes for the campaign step.
@Suite struct PartitioningTests {
    /// `cityHash64(s)` as ClickHouse 18.16 answered it, for strings of 0 to 1,000 bytes
    /// (every length up to 69, which covers each branch and its edges) and non-ASCII text.
    static let clickHouseVectors: [(String, UInt64)] = [
        ("", 11160318154034397263),
        ("u", 3605671604419386691),
        ("jz", 15612151501617489966),
        ("de8", 11095475447529706784),
        ("gx_d", 13878209497573175953),
        ("6ncf1", 16489295725709718563),
        ("0epf91", 8472491035752038653),
        ("d-ho_d-", 14781525003169884747),
        ("_zdoc9is", 14768439300782986680),
        ("0j8h-t9lg", 16811077305467669895),
        ("_-mxg9e-dn", 17194480924131593607),
        ("581u3_3xtpl", 11435441287369889744),
        ("pf-t75v2seh6", 4903723274407367482),
        ("0kvj50ce9-uvw", 605317859995767655),
        ("5_3efr4edt-2sy", 18152899956806076571),
        ("wb3wkh5dnsipzz5", 15780119712149997208),
        ("fk2z9ri19r0wyojf", 7808353691066008785),
        ("ljooa5_lqsaj08x-u", 14832996514741497846),
        ("i6d39zzzzg4zdmen2k", 7601424687760863489),
        ("hvdga-j8gxbenyjqwx4", 9307157199527444436),
        ("hh5344tfjgvq4k7bn7xj", 6471144117440713513),
        ("8b7tfq7xkwo886vompzom", 11043139991556379592),
        ("75wbbr4qmw2wxfogo4mvn4", 8504376095376683411),
        ("a4wfhym4l1vfz3zfkkibj_3", 3793505389237987730),
        ("j4wj99ibag7i1mnbqns6p_uq", 6877153583805037917),
        ("80idw3_706i8j76b2lajlj4h9", 94775089561323083),
        ("du7794g9dpmrcg629be2u66mr2", 7233821628398648884),
        ("6846p7q9m2i0hz2uep1enthjxjq", 10430282468305323028),
        ("i3ogz5kok16zv0mwufxbv932byv7", 12007430018904650286),
        ("s6ehogfqrclri1qzj86-5ufrdl1er", 6359062839314251477),
        ("bfqfoeqh3av90ric7phkqdlmtt7ns2", 7726578106064616456),
        ("6lrwbqcab69m64p2g158z6tnovmizwd", 17163126614161594845),
        ("iaeq1kdfy6spsc3lkr2aqxv9upctnwla", 5524256379446703870),
        ("vyf4r6mp6afqfjz_czbttof_7jyu5jsjc", 13694581269321756605),
        ("616i76-b_ofbcixgy29db8p5qa3e68f7e4", 16301459603525150711),
        ("qeqpno35ye4scmejvqt-ia4d5rgn5s7s333", 6180369675320155309),
        ("h9mtf4bs3e62rynne_fj7qxi6rhxo55zbka5", 14472792962256314104),
        ("2ztj0wyuhvauvzhmasqxezy_ex1rdrgdsjpr1", 11684709324985450782),
        ("6umx1bz99nfd02is5d9ik40vstqqzpt49zhkke", 3387406809150917575),
        ("n659o2v21i9mpflv9fupxq-mb0y07nyrvd5r-xi", 11944401559343013375),
        ("67nfrpyz21tbic14_5aez732pgojj7g3f9caio-c", 8293650529151990839),
        ("tiq71hget7_myqoaa8t3rup47p9pb0tdbm50fqo1x", 1128600671158406579),
        ("o5cv0xzmas6en5mtmo3oqsg5lo50djzdnbj0ddlz2u", 18318446492877390843),
        ("hfkvml73ctyxv2kgafrfw0h9nywt1fd4mx82mux4b0p", 15154020016688822634),
        ("zcyc3edqmevxrvcqurtaebog43yq15i5latjpuu3xf6m", 4566765048721902148),
        ("zkp0ec498uk1geqfng052loi03p8hssr-rxqqm2plppjs", 9267024011881578429),
        ("_muezqp67og3cga4o2xcsohdm_mex6l2qagwncxvjcnqcn", 16526136734292629779),
        ("au0xltenc594e0gz9j8fkzr0st0dt-w00bxmzzna1k1hfz-", 5956643520003374059),
        ("x3kiad9jzf-x6kjwsk7kegy5mtic4udyfkozm4l-ncz7kywh", 15053866927636898541),
        ("jpmc9cuhy39t0t_p1yx262lba53p23l4zgeiw1xf266ccifu6", 10674712989494684905),
        ("fd6yibehmi5skoewqkur3jq64n_q6puxcmlzkruykqh7dx297_", 1333080902809850142),
        ("gq8zxqyx-jxvf2olds7qt_uacojs106xdi5ocbda-wtg7w8o0_t", 11801236506409433919),
        ("_inx4kiapj2gejrzqad9w_275pkacd8bzlpkdga9mj0m760l6tet", 14212151900958979692),
        ("d48ay13f2logqochvqdr917qsnf6akqpmkumyvpy8447ab1o-tnz_", 9296465393266218118),
        ("e-kjcbhgkwjbbcicece_xm8eygpnnhccfs4gignsuv1qbwqsdxu64s", 4831523786902548558),
        ("b0b17gw4d8-nf-sk1a7msdaw5g5l5_w6q-ksno5khf59guwgzzf1bxn", 15316942219891380096),
        ("tq186kyo3i8cw_u7j29uk32q_oiv3p6mrtjjpu7wkpumqgkgmyjjtt1r", 12857935210232543879),
        ("mggrny3caz1o6s3bjqzap1-_0o_olh31uqg0pzkq143b07luay5gcq8nk", 8712547666835404588),
        ("m7wg-38n46bx7v03nlz6hwdqryzdae00w_qgotz7oz3nkiem49ojw03s9i", 6842390189301803981),
        ("4woryq1l4arwptu451fxjtydf-ui7w_aanesqg_jol2wjnz8kf9tm5n7f2h", 18338141454264190091),
        ("9hq0oi459d43j5p5k8aku3-5s3x10elxbbcvg645jcn0ivgxv479ns1v1q9d", 13896394887508392221),
        ("ssw5zv6r6wn5hvmuti_fcz9z8-dztgacm4d68yjfnc3lglc0gaxit9qtl0cub", 6571945286338631368),
        ("1-_d5-7ch0-z2eay_j409gf4nja1aahfnhi4br-p2ldxjfs953qdcadafyttk5", 5445759539602967923),
        ("dux-24kjhxk04y2r-vsrdvajt_1pyyyo2sauqr1k_csj-jr95w8f895ymotdz3n", 5072409810192351235),
        ("q_ay38f8weoz_7q7u46_mmnmflsx--wz7jpc5xgx3fjubwr7bgcn-5_-nqr1g2_i", 414588610841751992),
        ("qcvmlyfbdc9x35ezhfqu-of6zl2kxpolcqwd9bdq64dgjuamt__2g4uxqyhx4yk2p", 3988852617487488156),
        ("ja3mckoexi2gybe2vuo4hxjvodl29j2jr00pjbr-svkq5gu34hj6dn94shqmx1qppg", 6121314215026227608),
        ("ys0kdsjb26v6i2a7slx1c0nr-lil7olmff5rlnim_tmae70d7wvs5fa04irpl-xckx-", 11105691779833675834),
        ("aw727ehwpuy-dsg526b78ibpfolkgtq9bbgmqb-37p2gwglcrh35_6rhhhzi8_ooj-3z", 14439047189542423260),
        ("kby07czdxvzpv1-uz9du7jwp1axg7leu1m6boi0z3cccrr8cgqh7a1pcshtwkhd6rf3_8", 16895023266450547115),
        ("j2h6is0-srpf8s3-oym9x39t44tbpvom68y_zawkpu9u5rsnsdbk9ew2d7y2wg7oj0vwimr7g4ri0ga09_h5z-j0rhy23sws", 17043857176750737148),
        ("wz79yua5y2tl8tj1-y_ofvupun1abdq-5t8t81771y3wcw2ae7og0x6z9-jm05z2_v7fkxuxet6lhsv60k7s6n6m0ld-gw-c0aat9atzg_abml59-r86j-m0hjk76gb", 16913694035895860957),
        ("gek7531da_ujpwrkcrg_ewm2ybdoz_c2dppock_lua3t0q5epy_o0tz5bpflkwylasz9xhv8yvzeh1w9pym3swp1crbvjpifmr8i923pkxwnzy_nt46no2iq2_x8pz6n", 11523959326043551534),
        ("ih6f8ryb-jtayfloumge9x6tmetfosizswz3irlbxw0b3pzwglshroczck1mtjyc9tl-o-57q1-wahsc_dphcunwf0zor7fw12v626dn16i5mc9ql8kp8qpdkww0fmtii", 555194226918154827),
        ("54ppa62iwtij_-pvh91kj3znhsax5ncdrtmht2hku23-xsk9eca35fv-qg515m8uawfsqpfibbzjsxl7kgtuylwuoxi9xqpdcg-zdn515kt_fjoki2zfc24mnxac61jsed60ve2alkysa2-w-m4f8u7318jzfdvt--0x4itv7bmo2fj_x9_0x7p-2zqholm9hoqgm7q5", 5296664847083199613),
        ("o93o8-h6_-f0e2i696h6g3z8km-4fixdzpdxcan3thi1fm-hwkxvaqhpx67w5cwgw9uhcpqwm2b_2hb5heqlj9syj_q8r2abvj564ccelz4k2zo7exv7nti_cnkx3v-3ywuav_4vobp3cjjryre6qw--7_ic9gm1-gxspjetvx6pw9zvdvu46xppwjina3z2z-tk_ejttq-9vem_f_lt_w3w1e5ulrq8bkrpbndz2ms6gmpdidfe-viamr8aubn", 12416060206925243901),
        ("uub5zvld0cfv5zq3abu-ud0vkfbjnj7fwx1w8_9j-voq4ct939rx77riqa94gxjozfbihd86n9lqxjlk7bwp25nwy3nubgaezwdo-y0yobqbq1pownu1rt5n-k4ritsfva5pku2n_dnxc2l1itbhjaitj6wgk3zf0vzvc_pmaci6o-1gbduehh5i71alo8j86h7w5ewnoerlaqrecm6d09xrauc38s9v0rz1u80yjyy0jap6qypmhfcdz9u29u3-a446v_8ypywez7rue8oqq4w7_4-oje7x7n7kxplj3lcuyx1h0jqygxw77t2frzs2h24l7jaix57px7vyqb9ma-qd_lt8ruqpq2f75fmi1sxc2yxcs01qwpy_im_xenvef2yz705bg_-33104le2z5i6aomz8cs9vy3hfoe-ag5fn-3dmv4d90_i0djuvm7al8r7qfuyqt9z60dttpy18qtmidn8x35_jxvm39dua8e0-ucro2smn_3z2nndl1hdie5la9k5osn8kjn7g3gmfd0oq21jdick2so_u9jtqu9njozcuyjso8fm3jl1vzhcwhn77es5wb5fm5rt_8fmi4ro_tc_gawmjtdlvw24pvxlhte93g9hkz3ccc6_g0i0-wexkxkfva4tjqggphj5r88hu3pk-8c6qxmsz9nip86pgagd5-nofkjqb1z7hs-hf_nop6dpevgcnltvf3_lau00cfpj6kjwinmovea4c57veemdx0fw_k55iqtd3_k1y6t_8heqopm_39p5-dzzvyzfov1tat5bh400t3jv8nfwz3csvfrl208phncylyrvjxkowzt5u6mkz7aalgp3-qwg96yiq0e6v2rsxty7d55xbdh9y2t6j3cu4iarjm_-6czl_rps8b090fy5xruk-5d8wim7dkt7ktd_tyxlrt4mu2zgqxzuy4rhn260kucjr8490erzxz7shq2ac8-twxqpe9g0htklhzzvzz5vw", 8037015789466002866),
        ("acct-00017", 275632973163249020),
        ("hydra-2026-000123", 16682192232313907145),
        ("org-Ω-ünïcode", 14901329988954612285),
    ]

    @Test func cityHash64MatchesClickHouse() {
        for (text, expected) in Self.clickHouseVectors {
            #expect(CityHash64.hash(text) == expected, "cityHash64 of \(text.utf8.count) bytes")
        }
    }

    @Test func shardsParseAndRefuseWhatIsNotKOfN() throws {
        let s = try AccountShard(parsing: "1/4")
        #expect(s.index == 1 && s.count == 4 && s.description == "1/4")
        for bad in ["", "1", "4/4", "-1/4", "1/0", "a/b", "1/2/3", "0/70000"] {
            #expect(throws: AccountShard.ParseError.self, "\(bad)") { try AccountShard(parsing: bad) }
        }
        #expect(AccountShard.whole.owns("anything"))
    }

    @Test func everyAccountBelongsToExactlyOneShard() throws {
        let shards = try (0..<3).map { try AccountShard(parsing: "\($0)/3") }
        var sizes = [0, 0, 0]
        for i in 0..<3_000 {
            let id = "acct-\(i)"
            let owners = shards.filter { $0.owns(id) }
            #expect(owners.count == 1)
            sizes[owners[0].index] += 1
            #expect(owners[0].index == Int(CityHash64.hash(id) % 3))
        }
        // A hash, not a range: each shard holds about a third.
        #expect(sizes.allSatisfy { $0 > 850 && $0 < 1_150 }, "\(sizes)")
    }

    @Test func ledgerKeepsClientKeysReplaysAndProfileKeys() {
        var engine = DetectionEngine()
        engine.register(AccountRecord(accountID: "a", created: Timestamp(rfc3339: "2026-04-01T00:00:00Z")!,
                                      paymentFingerprint: "card-1"))
        var ledger = LinkKeyLedger()
        var clock = ManualClock()
        for i in 0..<100 {
            clock.advance(seconds: 10)
            var e = Exchange(time: clock.now, accountID: "a")
            e.clientIP = "198.51.100.\(i)"
            e.userAgent = "harness/1.0"
            if i == 5 { e.reasoningReplayOf = "req-from-elsewhere" }
            ledger.note(e)
            engine.observe(e)
        }
        let observations = ledger.observations(engine: engine)
        func count(_ kind: LinkEvidenceKind) -> Int { observations.filter { $0.kind == kind }.count }
        #expect(count(.sharedAddress) == LinkKeyLedger.maximumKeysPerKind)
        #expect(count(.sharedSubnet) == 1)
        #expect(count(.sharedUserAgent) == 1)
        #expect(count(.sharedPayment) == 1)
        #expect(count(.signupBurst) == 1)
        // The keys are the engine's own: an address key equals its AddressKeys value.
        #expect(observations.contains { $0.kind == .sharedAddress && $0.key == AddressKeys.keys("198.51.100.0")!.address })
        #expect(ledger.replayReferences.map(\.requestID) == ["req-from-elsewhere"])
        // Deterministic: the same input gives the same list.
        #expect(observations == ledger.observations(engine: engine))
    }
}
